//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
	mcpserver "github.com/loopdev/loop/internal/mcp"
)

// cmdTimeout bounds every CLI call, so a hang fails the test instead of
// the whole suite.
const cmdTimeout = 60 * time.Second

// loopEnv is one test's daemon (its own LOOP_HOME) and project directory.
type loopEnv struct {
	t    *testing.T
	home string   // LOOP_HOME: short, for the socket path limit
	dir  string   // the project directory (holds the Loopfile)
	env  []string // added to every CLI run's environment (and so to a loopd it starts)
}

// newEnv makes a LOOP_HOME and a project directory named project. Cleanup
// stops the daemon and checks that no process of this LOOP_HOME is left.
func newEnv(t *testing.T, project string) *loopEnv {
	t.Helper()
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	dir := filepath.Join(t.TempDir(), project)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &loopEnv{t: t, home: home, dir: dir}
	t.Cleanup(func() {
		if r := e.loop("daemon", "stop"); r.code != 0 {
			t.Errorf("loop daemon stop: exit %d: %s", r.code, r.stderr)
		}
		var left []int
		if !poll(5*time.Second, func() bool { left = procsOf(e.home); return len(left) == 0 }) {
			t.Errorf("after `loop daemon stop`, processes of LOOP_HOME %s are still alive: %s", e.home, describeProcs(left))
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return e
}

// write writes a file under the project directory, creating its parents.
func (e *loopEnv) write(name, content string) {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *loopEnv) environ() []string {
	// The config files are pinned inside LOOP_HOME (absent unless a test
	// writes them), so the machine's own do not leak into tests.
	return append(append(os.Environ(), "LOOP_HOME="+e.home, "NO_COLOR=1",
		"LOOP_ORG_CONFIG="+filepath.Join(e.home, "org-config.yaml"),
		"LOOP_CONFIG="+filepath.Join(e.home, "config.yaml")), e.env...)
}

// result is what a CLI run printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// loop runs the CLI in the project directory.
func (e *loopEnv) loop(args ...string) result {
	e.t.Helper()
	return e.loopWith(nil, args...)
}

// loopWith runs the CLI in the project directory with extra environment
// variables (KEY=VALUE).
func (e *loopEnv) loopWith(env []string, args ...string) result {
	e.t.Helper()
	return e.loopFor(cmdTimeout, env, args...)
}

// loopFor is loopWith with a timeout of its own, for a first container
// build that may take longer than cmdTimeout.
func (e *loopEnv) loopFor(d time.Duration, env []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.loop, args...)
	cmd.Dir = e.dir
	cmd.Env = append(e.environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		e.t.Fatalf("loop %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		e.t.Fatalf("loop %s: no exit within %s\n%s", strings.Join(args, " "), d, r)
	}
	return r
}

// mustLoop runs the CLI and fails the test unless it exits 0.
func (e *loopEnv) mustLoop(args ...string) result {
	e.t.Helper()
	r := e.loop(args...)
	if r.code != 0 {
		e.t.Fatalf("loop %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// up runs `loop up -d` and `loop wait`, both of which must succeed.
func (e *loopEnv) up() {
	e.t.Helper()
	e.mustLoop("up", "-d")
	e.settled()
}

// settleTimeout bounds `loop wait` in settled: a generous ceiling, since
// on a machine under stress (scripts/soak.sh, a busy CI host) a container
// start can take minutes; on a quiet one it takes a second or two.
const settleTimeout = 3 * time.Minute

// settled runs `loop wait` until the project settles, and fails the test
// if it does not (within settleTimeout) or settles failed.
func (e *loopEnv) settled() {
	e.t.Helper()
	if r := e.loopFor(settleTimeout+30*time.Second, nil, "wait", "--timeout", settleTimeout.String()); r.code != 0 {
		e.t.Fatalf("loop wait --timeout %s: %s", settleTimeout, r)
	}
}

// status is `loop status --json`.
func (e *loopEnv) status() api.Project {
	e.t.Helper()
	r := e.mustLoop("status", "--json")
	var p api.Project
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		e.t.Fatalf("loop status --json: %v\n%s", err, r.stdout)
	}
	return p
}

// resource is one resource of `loop status --json`.
func (e *loopEnv) resource(name string) api.Resource {
	e.t.Helper()
	r, ok := e.lookup(name)
	if !ok {
		e.t.Fatalf("loop status --json: no resource %q in %+v", name, e.status().Resources)
	}
	return r
}

// lookup is one resource of `loop status --json`, if it is there yet (a
// poll after a Loopfile edit may run before the reload).
func (e *loopEnv) lookup(name string) (api.Resource, bool) {
	e.t.Helper()
	for _, r := range e.status().Resources {
		if r.Name == name {
			return r, true
		}
	}
	return api.Resource{}, false
}

// daemonPid reads $LOOP_HOME/loopd.pid.
func (e *loopEnv) daemonPid() int {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "loopd.pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		e.t.Fatalf("loopd.pid: %v", err)
	}
	return pid
}

// client is a Go API client for this test's daemon.
func (e *loopEnv) client() *api.Client {
	return api.NewClient(filepath.Join(e.home, "loopd.sock"))
}

// socketHTTP is an HTTP client for this test's daemon's socket, for what
// the Go client does not expose (raw replies, /metrics).
func (e *loopEnv) socketHTTP() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(e.home, "loopd.sock"))
		}}}
}

// serverCmd is a Starlark list: the test server's argv.
func serverCmd() string { return fmt.Sprintf("[%q]", bin.server) }

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var httpClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true}, // always the current server
}

// get returns the body of GET http://127.0.0.1:port/.
func get(port int) (string, error) { return getWith(httpClient, port, "/") }

// getWith is GET http://127.0.0.1:port/path's body through c.
func getWith(c *http.Client, port int, path string) (string, error) {
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// mustGet fails the test unless GET / answers body.
func mustGet(t *testing.T, port int, want string) {
	t.Helper()
	got, err := get(port)
	if err != nil {
		t.Fatalf("GET :%d/: %v", port, err)
	}
	if got != want {
		t.Fatalf("GET :%d/ = %q, want %q", port, got, want)
	}
}

// poll calls cond until it holds or d passes; it reports whether it held.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitContainer returns the container ID of resource once it has one (its
// start may be under way: creating a container takes seconds under load).
func (e *loopEnv) awaitContainer(resource string) string {
	e.t.Helper()
	var r api.Resource
	if !poll(60*time.Second, func() bool { r = e.resource(resource); return r.Container != "" }) {
		e.t.Fatalf("%s: no container in loop status after 60s (state %s: %s)", resource, r.State, r.Reason)
	}
	return r.Container
}

// mcpCall calls an MCP tool through the daemon's API, as any MCP client
// does, and returns its text.
func mcpCall(t *testing.T, e *loopEnv, tool string, args map[string]any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	mc, err := client.NewInProcessClient(mcpserver.New(e.client(), mcpserver.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	if err := mc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := mc.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("MCP %s: %v", tool, err)
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := mcp.AsTextContent(ct); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// follow runs the CLI in the background until the test ends: lines
// delivers its output line by line, out returns all of it so far (use
// one or the other).
func (e *loopEnv) follow(t *testing.T, args ...string) (lines <-chan string, out func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin.loop, args...)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1<<16) // a few tables of `loop status -w` while nobody reads
	var mu sync.Mutex
	var all bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			mu.Lock()
			all.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case ch <- sc.Text():
			case <-ctx.Done():
				io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cmd.Wait()
	})
	return ch, func() string {
		mu.Lock()
		defer mu.Unlock()
		return all.String()
	}
}

// post is POST path on the daemon's socket; it returns the body of a 200.
func (e *loopEnv) post(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := e.socketHTTP().Post("http://loopd"+path, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %v: %s", path, resp.Status, err, b)
	}
	return b
}

// next is the next line of a follow, within 30s.
func next(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("the command ended early")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no line within 30s")
	}
	return ""
}
