//go:build linux

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestThinLoop_BuildsLoopdOnce: a loop with no loopd beside it (`go run
// ./cmd/loop`, a lone `go install .../cmd/loop`) builds the loopd of its
// own build once, into the user's cache, and hands it the commands it
// does not link and the daemon to run; the second run uses that build.
func TestThinLoop_BuildsLoopdOnce(t *testing.T) {
	e := newEnv(t, "lone")
	e.write("Loopfile", `task("hello", cmd = ["true"])`+"\n")
	lone := filepath.Join(t.TempDir(), "loop")
	b, err := os.ReadFile(bin.loop)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	// Go keeps its build cache under XDG_CACHE_HOME too: keep the warm one.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		// The build is like the test binaries' (CGO_ENABLED=0, the
		// build cache TestMain filled): a link, seconds; a ceiling for a
		// loaded machine.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, lone, args...)
		cmd.Dir = e.dir
		cmd.Env = append(e.environ(), "XDG_CACHE_HOME="+cache, "GOCACHE="+strings.TrimSpace(string(gocache)))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("loop %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, &stdout, &stderr)
		}
		return stdout.String(), stderr.String()
	}
	out, errs := run("config")
	if !strings.Contains(errs, "building one for this build") || !strings.Contains(out, "watch.debounce") {
		t.Fatalf("first handed-off command: stdout\n%s\nstderr\n%s\nwant the build announced and the config printed", out, errs)
	}
	built, _ := filepath.Glob(filepath.Join(cache, "loop", "loopd", "devel-*", "loopd"))
	if len(built) != 1 {
		t.Fatalf("builds in the cache: %q; want one loopd", built)
	}
	// `up` starts the daemon from that build; nothing is built again.
	if _, errs := run("up", "-d"); strings.Contains(errs, "building") || strings.Contains(errs, "loopd is version") {
		t.Errorf("second run: %s; want no build, and a loopd of loop's own version", errs)
	}
	e.settled()
	pid := e.daemonPid()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || exe != built[0] {
		t.Errorf("loopd (pid %d) runs %q (%v); want the cached build %s", pid, exe, err, built[0])
	}
}
