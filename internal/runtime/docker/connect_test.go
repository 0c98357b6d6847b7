package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

// fakeSSH puts an `ssh` on PATH that records its arguments and runs the
// remote command (`docker system dial-stdio`) locally, so ssh:// reaches
// the real local engine through the real docker CLI relay. With fail set
// it fails the way ssh does on a refused key.
func fakeSSH(t *testing.T, fail bool) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := `#!/bin/sh
echo "$@" > ` + argsFile + `
`
	if fail {
		script += "echo 'dev@build.example: Permission denied (publickey).' >&2\nexit 255\n"
	} else {
		script += `while [ "$1" != "--" ]; do shift; done
shift 2
unset DOCKER_HOST  # the "remote" side uses its own engine
exec "$@"
`
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_HOST", "ssh://dev@build.example:2222")
	return argsFile
}

// TestRuntime_SSHHost runs a container with live sync through an ssh://
// DOCKER_HOST: the supervisor is copied in (the engine is remote), files
// reach it through the hijacked exec channel over ssh.
func TestRuntime_SSHHost(t *testing.T) {
	local := testRuntime(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI relays ssh connections (docker system dial-stdio); it is not installed")
	}
	project := testProject(t, local)
	argsFile := fakeSSH(t, false)

	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir())
	r.Supervisor = supervisorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping over ssh: %v", err)
	}
	if r.host != "ssh://dev@build.example:2222" || !r.copySuper {
		t.Errorf("host %q, copySuper %v; want the ssh URL and a copied supervisor", r.host, r.copySuper)
	}
	args, _ := os.ReadFile(argsFile)
	if want := "-l dev -p 2222 -- build.example docker system dial-stdio"; !strings.Contains(string(args), want) {
		t.Errorf("ssh args %q; want them to contain %q", args, want)
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

// TestConnect_SSHFailure: ssh's own error reaches the user.
func TestConnect_SSHFailure(t *testing.T) {
	fakeSSH(t, true)
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "Permission denied (publickey)") || !strings.Contains(err.Error(), "ssh://dev@build.example:2222") {
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
// resource names on it, and RemoveNetwork removes it.
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
	if err := r.RemoveNetwork(context.Background(), project); err != nil {
		t.Fatal(err)
	}
	if ids, _ := networksNamed(context.Background(), r.cli, NetworkName(project)); len(ids) != 0 {
		t.Errorf("after RemoveNetwork: networks %v left", ids)
	}
}
