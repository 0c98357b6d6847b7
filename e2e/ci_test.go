//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// servicesLeft lists the live processes of this LOOP_HOME other than
// loopd's own (the daemon, its reaper sidecar, its evaluators).
func (e *loopEnv) servicesLeft() []int {
	d := e.daemonPid()
	exe := func(pid int) string { x, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); return x }
	loopd := exe(d)
	return slices.DeleteFunc(procsOf(e.home), func(pid int) bool {
		// A process still running loopd's binary is loopd's own: a fork
		// not yet exec'd (the evaluator loopd starts ahead, for a moment)
		// has the daemon's command line, but no service runs loopd.
		return pid == d || isReaper(pid) || isEvaluator(pid) || (loopd != "" && exe(pid) == loopd)
	})
}

func TestCI_FailingTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "cifail")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
task("check", cmd = "echo checking; echo 'boom: the check broke' >&2; exit 3", deps = [])
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [], resource_deps = ["check"],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	r := e.loop("ci", "--timeout", "30s")
	if r.code == 0 {
		t.Fatalf("loop ci with a failing task: want a non-zero exit, got %s", r)
	}
	for _, want := range []string{"check", "boom: the check broke", "exit"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("loop ci: stderr does not mention %q:\n%s", want, r.stderr)
		}
	}
	if left := e.servicesLeft(); len(left) > 0 {
		t.Errorf("after loop ci, processes are alive: %s", describeProcs(left))
	}
}

func TestCI_Success(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "cigood")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
task("build", cmd = "echo built > built.txt", deps = [])
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [], resource_deps = ["build"],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	r := e.loop("ci", "--timeout", "30s")
	if r.code != 0 || !strings.Contains(r.stdout, "all 2 resources ready") {
		t.Fatalf("loop ci: want exit 0 and all 2 resources ready, got %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "built.txt")); err != nil {
		t.Errorf("the build task did not run: %v", err)
	}
	// The services were stopped before loop ci returned.
	if left := e.servicesLeft(); len(left) > 0 {
		t.Errorf("after loop ci, processes are alive: %s", describeProcs(left))
	}
	if _, err := get(port); err == nil {
		t.Errorf("port %d still answers after loop ci", port)
	}
	if r := e.loop("status"); r.code == 0 {
		t.Errorf("loop status after loop ci: want the project down, got %s", r)
	}
}

func TestBadInput_DependencyCycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "cycle")
	e.write("Loopfile", `
service("a", cmd = "touch started-a; exec sleep 1000", deps = [], resource_deps = ["b"])
service("b", cmd = "touch started-b; exec sleep 1000", deps = [], resource_deps = ["c"])
service("c", cmd = "touch started-c; exec sleep 1000", deps = [], resource_deps = ["a"])
`)
	r := e.loop("up", "-d")
	if r.code == 0 {
		t.Fatalf("loop up with a dependency cycle: want a non-zero exit, got %s", r)
	}
	if !strings.Contains(r.stderr, "dependency cycle") || !anyOf(r.stderr, "a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c") {
		t.Errorf("loop up: want the error to name the cycle a -> b -> c; got %s", r)
	}
	if !strings.Contains(r.stderr, filepath.Join(e.dir, "Loopfile")+":") {
		t.Errorf("loop up: want the error to point into the Loopfile; got %s", r)
	}
	if left := e.servicesLeft(); len(left) > 0 {
		t.Errorf("processes started despite the cycle: %s", describeProcs(left))
	}
	for _, f := range []string{"started-a", "started-b", "started-c"} {
		if _, err := os.Stat(filepath.Join(e.dir, f)); err == nil {
			t.Errorf("%s exists: a resource started despite the cycle", f)
		}
	}
	if r := e.loop("status"); r.code == 0 {
		t.Errorf("loop status: want the project not up, got %s", r)
	}
}

func anyOf(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestBadInput_CommandNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "notfound")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("ghost", cmd = ["no-such-command-e2e", "--flag"], deps = [])
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	e.mustLoop("up", "-d")
	r := e.loop("wait", "--timeout", "30s")
	if r.code != 1 || !strings.Contains(r.stderr, "ghost") || !strings.Contains(r.stderr, `"no-such-command-e2e" not found`) {
		t.Errorf("loop wait: want exit 1 naming ghost and the missing command; got %s", r)
	}
	ghost := e.resource("ghost")
	if ghost.State != api.StateFailed || !strings.Contains(ghost.Reason, `"no-such-command-e2e" not found`) {
		t.Errorf("ghost: state %s reason %q, want failed saying the command is not found", ghost.State, ghost.Reason)
	}
	if web := e.resource("web"); web.State != api.StateReady {
		t.Errorf("web: state %s (%s), want ready: one bad resource must not stop the others", web.State, web.Reason)
	}
	if !alive(e.daemonPid()) {
		t.Fatalf("loopd died")
	}
	if out := e.mustLoop("status").stdout; !strings.Contains(out, "failed") || !strings.Contains(out, "not found") {
		t.Errorf("loop status: want ghost failed with its reason; got:\n%s", out)
	}
}

func TestBadInput_LoopfileLoopsForever(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src string }{
		{"def", "def spin():\n    for i in range(1 << 60):\n        pass\n\nspin()\n"},
		{"toplevel", "for i in range(1 << 60):\n    pass\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "spin"+tc.name)
			e.write("Loopfile", tc.src)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin.loop, "up", "-d")
			cmd.Dir, cmd.Env = e.dir, e.environ()
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("loop up on a Loopfile that loops forever did not return within 30s:\n%s", out)
			}
			if err == nil || !strings.Contains(string(out), "step limit") || !strings.Contains(string(out), "Loopfile:") {
				t.Errorf("loop up: want a step limit error pointing into the Loopfile; got %v:\n%s", err, out)
			}
			if !alive(e.daemonPid()) {
				t.Errorf("loopd died")
			}
		})
	}
}

func TestBadInput_PortInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "portbusy")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	e.write("Loopfile", fmt.Sprintf(`
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [], ports = [%d],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port, port))
	e.mustLoop("up", "-d")
	r := e.loop("wait", "--timeout", "30s")
	want := fmt.Sprintf("port %d", port)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("loop wait: want exit 1 naming %s; got %s", want, r)
	}
	if web := e.resource("web"); web.State != api.StateFailed || !strings.Contains(web.Reason, want) {
		t.Errorf("web: state %s reason %q, want failed naming %s", web.State, web.Reason, want)
	}
}

// TestBadInput_LongLoopHome: a state directory too long for a Unix socket
// path is reported as such, not as a bare "bind: invalid argument".
func TestBadInput_LongLoopHome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "longhome")
	e.home = filepath.Join(e.home, strings.Repeat("h", 110))
	e.write("Loopfile", "task(\"t\", cmd = \"true\", deps = [])\n")
	r := e.loop("up", "-d")
	if r.code == 0 {
		t.Fatalf("loop up with a %d-byte socket path: want a non-zero exit, got %s", len(e.home)+len("/loopd.sock"), r)
	}
	log, _ := os.ReadFile(filepath.Join(e.home, "loopd.log"))
	if msg := r.stderr + string(log); !strings.Contains(msg, "too long") {
		t.Errorf("want the error to say the socket path is too long (and what to do); got:\n%s\nloopd.log:\n%s", r.stderr, log)
	}
}
