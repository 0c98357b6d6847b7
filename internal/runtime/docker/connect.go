package docker

// Connecting to the engine the docker CLI would use: DOCKER_HOST (unix://,
// tcp://, ssh://), else the current Docker context (its host and TLS
// material), else the default socket. Every part of loop that talks to
// Docker (the runtime, loop exec, loop ship) connects through Connect.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// Connect returns a client for the engine the docker CLI would use, and
// that engine's address for messages. The API version is negotiated on
// the first request.
func Connect() (*client.Client, string, error) {
	ep, err := currentEndpoint()
	if err != nil {
		return nil, "", err
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	addr := ep.Host
	if addr == "" {
		addr = os.Getenv("DOCKER_HOST")
	}
	switch {
	case strings.HasPrefix(addr, "ssh://"):
		dial, err := sshDialer(addr)
		if err != nil {
			return nil, "", err
		}
		// The host only names the engine in HTTP requests; every
		// connection goes through ssh.
		opts = append(opts, client.WithHost("http://docker.example.com"), client.WithDialContext(dial))
	case ep.Host != "":
		opts = append(opts, client.WithHost(ep.Host))
		if ep.TLSDir != "" {
			opts = append(opts, client.WithTLSClientConfig(
				filepath.Join(ep.TLSDir, "ca.pem"), filepath.Join(ep.TLSDir, "cert.pem"), filepath.Join(ep.TLSDir, "key.pem")))
		}
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, "", fmt.Errorf("docker client: %w; check DOCKER_HOST and `docker context ls`", err)
	}
	if addr == "" || !strings.HasPrefix(addr, "ssh://") {
		addr = cli.DaemonHost()
	}
	return cli, addr, nil
}

// endpoint is where a Docker context points.
type endpoint struct {
	Host   string // "" = DOCKER_HOST or the default socket (client.FromEnv decides)
	TLSDir string // the context's TLS material (ca.pem, cert.pem, key.pem), if any
}

// currentEndpoint returns the engine address of the current Docker context
// (nothing for the default context or when DOCKER_HOST is set).
func currentEndpoint() (endpoint, error) {
	if os.Getenv("DOCKER_HOST") != "" {
		return endpoint{}, nil
	}
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return endpoint{}, nil
		}
		dir = filepath.Join(home, ".docker")
	}
	name := os.Getenv("DOCKER_CONTEXT")
	if name == "" {
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			return endpoint{}, nil
		}
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return endpoint{}, fmt.Errorf("read %s: %v", filepath.Join(dir, "config.json"), err)
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return endpoint{}, nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(meta)
	if err != nil {
		return endpoint{}, fmt.Errorf("docker context %q: %v; run `docker context ls`, or set DOCKER_HOST", name, err)
	}
	var m struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return endpoint{}, fmt.Errorf("docker context %q: read %s: %v", name, meta, err)
	}
	ep := endpoint{Host: m.Endpoints["docker"].Host}
	if ep.Host == "" {
		return endpoint{}, fmt.Errorf("docker context %q has no docker endpoint (%s); set DOCKER_HOST", name, meta)
	}
	if tls := filepath.Join(dir, "contexts", "tls", id, "docker"); fileExists(filepath.Join(tls, "ca.pem")) {
		ep.TLSDir = tls
	}
	return ep, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sshDialer reaches the engine behind ssh://[user@]host[:port] the way the
// docker CLI does: each connection is `ssh ... host docker system
// dial-stdio`, the remote docker CLI relaying stdin/stdout to its engine.
// ssh's own configuration (keys, agent, known_hosts, ProxyJump) applies.
func sshDialer(addr string) (func(ctx context.Context, network, address string) (net.Conn, error), error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %v; want ssh://[user@]host[:port]", addr, err)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("DOCKER_HOST %q: want ssh://[user@]host[:port] (no path or query)", addr)
	}
	args := []string{"-o", "ConnectTimeout=30", "-T"}
	if u.User != nil && u.User.Username() != "" {
		args = append(args, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	args = append(args, "--", u.Hostname(), "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialCommand(ctx, "ssh", args...)
	}, nil
}

// dialCommand starts argv and returns its stdin/stdout as a connection.
// The command lives as long as the connection, not as long as ctx (which
// only bounds the dial).
func dialCommand(_ context.Context, name string, args ...string) (net.Conn, error) {
	cmd := exec.Command(name, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &cmdConn{cmd: cmd, stdin: stdin, stdout: stdout}
	cmd.Stderr = &c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("connect to docker over ssh: %w (is ssh installed?)", err)
	}
	return c, nil
}

// cmdConn is a net.Conn over a command's stdin and stdout. Deadlines are
// not supported (as with the docker CLI's own connection helpers).
type cmdConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr limitedBuffer

	closeOnce sync.Once
	closeErr  error
}

var _ net.Conn = (*cmdConn)(nil)

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err == io.EOF && n == 0 {
		if cerr := c.exitErr(); cerr != nil {
			return 0, cerr
		}
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil { // the command is gone (a broken pipe)
		if cerr := c.exitErr(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// exitErr waits for the ended command and says why it failed (ssh's
// "Permission denied", "command not found" for a remote without docker,
// ...); nil when it exited 0.
func (c *cmdConn) exitErr() error {
	if err := c.wait(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(c.cmd.Args, " "), err, strings.TrimSpace(c.stderr.String()))
	}
	return nil
}

// CloseWrite half-closes the connection (hijacked exec streams use it).
func (c *cmdConn) CloseWrite() error { return c.stdin.Close() }

func (c *cmdConn) Close() error {
	c.stdin.Close()
	c.stdout.Close()
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
	c.wait()
	return nil
}

// wait reaps the command once.
func (c *cmdConn) wait() error {
	c.closeOnce.Do(func() { c.closeErr = c.cmd.Wait() })
	return c.closeErr
}

func (c *cmdConn) LocalAddr() net.Addr              { return cmdAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr             { return cmdAddr{} }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

type cmdAddr struct{}

func (cmdAddr) Network() string { return "cmd" }
func (cmdAddr) String() string  { return "stdio" }

// limitedBuffer keeps the first 4 KiB written to it (a command's stderr).
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
