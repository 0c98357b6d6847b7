//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/supervise"
)

// TestContainer_DefaultInstall: loop and loopd built as a default `go
// install` builds them on a machine with a C compiler (CGO_ENABLED=1, so
// loopd is dynamically linked) run a container() project to ready: loopd
// builds a static supervisor on demand, and `loop doctor` names it.
func TestContainer_DefaultInstall(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "defaultinstall")
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skipf("no C compiler (cc): a default go install builds without cgo here, so loopd is static anyway: %v", err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/loopdev/loop/cmd/loop", "github.com/loopdev/loop/cmd/loopd")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loop and loopd with CGO_ENABLED=1: %v\n%s", err, out)
	}
	loopd := filepath.Join(dir, "loopd")
	if b, err := supervise.Inspect(loopd); err != nil || b.Static {
		t.Fatalf("%s built with CGO_ENABLED=1: %+v, %v; want dynamically linked, as a default go install", loopd, b, err)
	}

	run := func(d time.Duration, args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "loop"), args...)
		cmd.Dir, cmd.Env = e.dir, append(e.environ(), "LOOP_SUPERVISOR=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
		if err != nil && r.code == 0 || ctx.Err() != nil {
			t.Fatalf("loop %s: %v\n%s", strings.Join(args, " "), err, r)
		}
		return r
	}

	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
container(
    "web",
    image = %q,
    cmd = ["sh", "-c", "mkdir -p /www && echo default-install > /www/index.html && exec httpd -f -p 8080 -h /www"],
    ports = ["%d:8080"],
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, baseImage, port, port))
	if r := run(cmdTimeout, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up: %s", r)
	}
	// The first build of the supervisor compiles it (and, with a cold build
	// cache, parts of the standard library) on a busy machine.
	if r := run(5*time.Minute, "wait", "--timeout", "4m"); r.code != 0 {
		t.Fatalf("loop wait: %s\nloopd.log:\n%s", r, readFile(filepath.Join(e.home, "loopd.log")))
	}
	if got, err := get(port); err != nil || !strings.Contains(got, "default-install") {
		t.Errorf("GET :%d/ = %q, %v; want the container's page", port, got, err)
	}
	if got := e.exec("web", "cat", "/proc/1/cmdline"); !strings.HasPrefix(got, "/.loop/loopd\x00supervise") {
		t.Errorf("PID 1 of the container is %q, want the supervisor", got)
	}

	r := run(cmdTimeout, "doctor")
	var line string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "container supervisor") {
			line = l
		}
	}
	want := filepath.Join(e.home, "supervisor", "devel-")
	if !strings.Contains(line, want) || !strings.Contains(line, supervise.FromCache) ||
		!strings.Contains(line, "static: yes") || !strings.Contains(line, "arch: linux/") {
		t.Errorf("loop doctor's supervisor line is %q, want the one loopd built under %s, static, with its arch\n%s", line, want, r)
	}
}

// readFile is a file's content, or why it could not be read.
func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
