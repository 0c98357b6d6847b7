package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

// sshServer runs a real sshd on 127.0.0.1 (a free port, its own host key,
// public-key login for the current user with a key made here) and points
// DOCKER_HOST at it; the real ssh client connects. ssh reads its own
// configuration from the user's home (not $HOME), so the `ssh` put first
// on PATH only adds `-F` with this test's client configuration (key,
// known_hosts) before running the real one. With wrongKey, the client
// offers a key the server does not know.
func sshServer(t *testing.T, wrongKey bool) {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	sshBin, cerr := exec.LookPath("ssh")
	if _, err := os.Stat(sshd); err != nil || cerr != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("sshd or ssh is missing (scripts/setup-ssh.sh installs them): %v %v", err, cerr)
		}
		t.Skip("sshd or ssh is missing; scripts/setup-ssh.sh installs them")
	}
	dir := t.TempDir()
	keygen := func(name string) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	keygen("host")
	keygen("user")
	keygen("other")
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "authorized_keys"), string(pub))
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	port := freePort(t)
	writeFile(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid")))
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var log buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd's log:\n%s", log.String())
		}
	})
	eventually(t, "sshd to listen", func() (bool, string) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil, fmt.Sprint(err)
	})
	hostPub, err := os.ReadFile(filepath.Join(dir, "host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "known_hosts"), fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub))
	key := "user"
	if wrongKey {
		key = "other"
	}
	writeFile(t, filepath.Join(dir, "ssh_config"), fmt.Sprintf(`Host *
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  BatchMode yes
`, filepath.Join(dir, key), filepath.Join(dir, "known_hosts")))
	bin := filepath.Join(dir, "bin")
	writeFile(t, filepath.Join(bin, "ssh"), fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", sshBin, filepath.Join(dir, "ssh_config")))
	if err := os.Chmod(filepath.Join(bin, "ssh"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", fmt.Sprintf("ssh://%s@127.0.0.1:%d", u.Username, port))
}

// TestRuntime_SSHHost runs a container with live sync through an ssh://
// DOCKER_HOST served by a real sshd: the supervisor is copied in (the
// engine is remote), files reach it through the hijacked exec channel over
// ssh, relayed by `docker system dial-stdio` on the server.
func TestRuntime_SSHHost(t *testing.T) {
	local := testRuntime(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI relays ssh connections (docker system dial-stdio); it is not installed")
	}
	project := testProject(t, local)
	sshServer(t, false)

	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir())
	r.Supervisor = supervisorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping over ssh: %v", err)
	}
	if r.host != os.Getenv("DOCKER_HOST") || !r.copySuper {
		t.Errorf("host %q, copySuper %v; want the ssh URL and a copied supervisor", r.host, r.copySuper)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a\n")
	c := &model.Container{Image: testImage, KeepAlive: true, Sync: []model.SyncRule{{Local: filepath.Join(dir, "src"), Remote: "/src"}}}
	h := start(t, r, testSpec(project, "app", dir, c, io.Discard))
	defer stopHandle(t, h)
	if got, _ := run(t, h, "", "cat", "/src/a.txt"); got != "a\n" {
		t.Errorf("/src/a.txt = %q, want the initial sync", got)
	}
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "b\n")
	if err := h.Update(context.Background(), []string{filepath.Join(dir, "src", "a.txt")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := run(t, h, "", "cat", "/src/a.txt"); got != "b\n" {
		t.Errorf("/src/a.txt = %q after an update over ssh", got)
	}
}

// TestConnect_SSHFailure: ssh's own error (a key the server refuses)
// reaches the user, with the engine's address.
func TestConnect_SSHFailure(t *testing.T) {
	sshServer(t, true)
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := r.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "Permission denied (publickey)") || !strings.Contains(err.Error(), os.Getenv("DOCKER_HOST")) {
		t.Errorf("Ping with a refused ssh key: %v; want ssh's message and the host", err)
	}
}

func TestSSHDialer_BadURL(t *testing.T) {
	for _, addr := range []string{"ssh://", "ssh://host/path", "ssh://host?x=1"} {
		if _, err := sshDialer(addr); err == nil || !strings.Contains(err.Error(), "ssh://[user@]host[:port]") {
			t.Errorf("sshDialer(%q): %v", addr, err)
		}
	}
}

// TestRuntime_OneNetworkPerProject: containers of a project started at the
// same time share one network (an engine before API 1.44 would create two
// of the same name and then refuse the name as ambiguous), answer to their
// resource names on it, and Sweep removes it.
func TestRuntime_OneNetworkPerProject(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	var wg sync.WaitGroup
	handles := make([]*handle, 3)
	errs := make([]error, 3)
	for i := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &model.Container{Image: testImage, KeepAlive: true}
			h, err := r.Start(context.Background(), testSpec(project, fmt.Sprintf("svc%d", i), dir, c, io.Discard))
			errs[i] = err
			if err == nil {
				handles[i] = h.(*handle)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start svc%d: %v", i, err)
		}
		defer stopHandle(t, handles[i])
	}
	ids, err := networksNamed(context.Background(), r.cli, NetworkName(project))
	if err != nil || len(ids) != 1 {
		t.Fatalf("networks named %s: %v, %v; want exactly one", NetworkName(project), ids, err)
	}
	if out, code := run(t, handles[0], "", "nslookup", "svc2"); code != 0 || !strings.Contains(out, "Address") {
		t.Errorf("svc0: nslookup svc2 = %q (exit %d), want an address on the project's network", out, code)
	}
	for _, h := range handles {
		stopHandle(t, h)
	}
	if err := r.Sweep(context.Background(), project); err != nil {
		t.Fatal(err)
	}
	if ids, _ := networksNamed(context.Background(), r.cli, NetworkName(project)); len(ids) != 0 {
		t.Errorf("after Sweep: networks %v left", ids)
	}
}
