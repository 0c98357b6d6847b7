//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// TestUp_EditRestartsService: a service behind a task and an http probe
// comes up; editing a file it depends on restarts it with the new content
// by the time `loop wait` returns; editing ignored files does not.
func TestUp_EditRestartsService(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "edit")
	port := freePort(t)
	e.write("prep.in", "1")
	e.write("www/content.txt", "v1")
	e.write(".gitignore", "*.log\n")
	e.write("Loopfile", fmt.Sprintf(`
task("prep", cmd = "cat prep.in > prep.out", deps = ["prep.in"])

service(
    "web",
    cmd = %s,
    env = {"PORT": "%d", "CONTENT_FILE": "www/content.txt"},
    deps = ["www"],
    ignore = ["*.tmp"],
    resource_deps = ["prep"],
    readiness = http_probe("http://127.0.0.1:%d/"),
    ports = [%d],
)
`, serverCmd(), port, port, port))

	e.up()
	mustGet(t, port, "v1")
	if prep := e.resource("prep"); prep.State != api.StateReady {
		t.Fatalf("prep: state %s (%s), want %s", prep.State, prep.Reason, api.StateReady)
	}
	before := e.resource("web")
	if before.State != api.StateReady || before.Pid == 0 {
		t.Fatalf("web: state %s pid %d (%s), want ready with a pid", before.State, before.Pid, before.Reason)
	}

	e.write("www/content.txt", "v2")
	e.settled()
	mustGet(t, port, "v2") // `loop wait` returned: the new server must answer now
	after := e.resource("web")
	if after.Pid == before.Pid {
		t.Fatalf("web: pid %d after editing www/content.txt, want a new process", after.Pid)
	}
	if alive(before.Pid) {
		t.Errorf("web: the old process %d is still alive after the restart", before.Pid)
	}

	// Ignored by the resource's ignore= and by .gitignore: no restart.
	for _, f := range []string{"www/scratch.tmp", "www/debug.log"} {
		e.write(f, "x")
		e.settled()
		if got := e.resource("web"); got.Pid != after.Pid {
			t.Errorf("web: pid %d after editing the ignored %s, want %d (no restart)", got.Pid, f, after.Pid)
		}
	}
	mustGet(t, port, "v2")
}

// twoServices declares "plain", the test server, and "bg", the test server
// behind a shell that leaves a `sleep` grandchild in the group.
func twoServices(plainPort, bgPort int) string {
	bg := fmt.Sprintf("sleep 1000 & exec '%s'", bin.server)
	return fmt.Sprintf(`
service("plain", cmd = %s, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
service("bg", cmd = %q, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), plainPort, plainPort, bg, bgPort, bgPort)
}

// groupsOf returns the process groups of the named resources (a process
// group's id is its leader's pid) and checks that "bg" has its grandchild.
func (e *loopEnv) groupsOf(names ...string) []int {
	e.t.Helper()
	p := e.status()
	var pgids []int
	for _, name := range names {
		found := false
		for _, r := range p.Resources {
			if r.Name != name {
				continue
			}
			found = true
			if r.Pid == 0 {
				e.t.Fatalf("%s: no pid (state %s: %s)", name, r.State, r.Reason)
			}
			st, ok := readProcStat(r.Pid)
			if !ok || st.pgid != r.Pid {
				e.t.Fatalf("%s: pid %d is not a process group leader (%+v, ok %v)", name, r.Pid, st, ok)
			}
			pgids = append(pgids, r.Pid)
			if name == "bg" {
				if m := groupMembers(r.Pid); len(m) < 2 {
					e.t.Fatalf("bg: group %d has %s, want the server and its sleep grandchild", r.Pid, describeProcs(m))
				}
			}
		}
		if !found {
			e.t.Fatalf("no resource %q in %+v", name, p.Resources)
		}
	}
	return pgids
}

// TestDown_NoProcessLeft: `loop down` returns once every process group of
// the project is gone, a backgrounded grandchild included.
func TestDown_NoProcessLeft(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "down")
	plain, bg := freePort(t), freePort(t)
	e.write("Loopfile", twoServices(plain, bg))
	e.up()
	pgids := e.groupsOf("plain", "bg")

	e.mustLoop("down")
	if left := liveGroups(pgids); len(left) > 0 {
		t.Fatalf("after `loop down` returned, process groups are alive:\n%s", describeGroups(left))
	}
	if _, err := get(plain); err == nil {
		t.Errorf("port %d still answers after `loop down`", plain)
	}
	if r := e.loop("status"); r.code == 0 || !strings.Contains(r.stderr, "not up") {
		t.Errorf("loop status after down: want a non-zero exit saying the project is not up; got %s", r)
	}
}

// TestLoopfileError_KeepsRunning: a Loopfile that stops evaluating keeps
// the last good configuration running and says where the error is;
// fixing it recovers without restarting what did not change.
func TestLoopfileError_KeepsRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "broken")
	port := freePort(t)
	good := fmt.Sprintf(`service(
    "web",
    cmd = %s,
    env = {"PORT": "%d"},
    deps = [],
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, serverCmd(), port, port)
	const badLine = 8 // the line appended to good
	e.write("Loopfile", good)
	e.up()
	pid := e.resource("web").Pid
	loopfile := filepath.Join(e.dir, "Loopfile")

	for _, tc := range []struct {
		name, line, msg string
	}{
		{"syntax", "x = = 1", ""},
		{"unknown keyword", `service("extra", cmd = "true", comand = "x")`, "comand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.write("Loopfile", good+tc.line+"\n")
			r := e.loop("wait", "--timeout", "30s")
			if r.code != 1 {
				t.Fatalf("loop wait with a broken Loopfile: want exit 1, got %s", r)
			}
			loc := fmt.Sprintf("%s:%d:", loopfile, badLine)
			if !strings.Contains(r.stderr, loc) || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("loop wait: want an error at %s mentioning %q; got %s", loc, tc.msg, r)
			}

			text := e.mustLoop("status").stdout
			if !strings.Contains(text, "Loopfile error") || !strings.Contains(text, loc) {
				t.Errorf("loop status: want the Loopfile error at %s; got:\n%s", loc, text)
			}
			p := e.status()
			switch le := p.Error; {
			case le == nil:
				t.Errorf("loop status --json: no loopfile_error")
			case le.File != loopfile || le.Line != badLine || le.Col <= 0 || !strings.Contains(le.Message, tc.msg):
				t.Errorf("loop status --json: loopfile_error %+v, want %s line %d, a column, a message with %q", *le, loopfile, badLine, tc.msg)
			}
			if got := e.resource("web"); got.Pid != pid || got.State != api.StateReady {
				t.Errorf("web: pid %d state %s, want the running pid %d still ready", got.Pid, got.State, pid)
			}
			mustGet(t, port, "ok\n")

			e.write("Loopfile", good)
			if r := e.loop("wait", "--timeout", "30s"); r.code != 0 {
				t.Fatalf("loop wait after fixing the Loopfile: want exit 0, got %s", r)
			}
			if p := e.status(); p.Error != nil {
				t.Errorf("loop status --json after the fix: loopfile_error %+v, want none", *p.Error)
			}
			if got := e.resource("web"); got.Pid != pid {
				t.Errorf("web: pid %d after restoring the same Loopfile, want %d (nothing changed)", got.Pid, pid)
			}
		})
	}
}

// TestUp_BrokenLoopfileOnRunningProject: `loop up` again on a running
// project, with an environment in which the Loopfile no longer evaluates,
// keeps the running configuration and says so. Then either the request was
// rejected as a whole (no Loopfile error, and the project keeps its old
// environment, so a later edit evaluates) or its environment was taken (the
// error shows in `loop status` at once): never a hidden error that only a
// later, unrelated edit reveals.
func TestUp_BrokenLoopfileOnRunningProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "reup")
	port := freePort(t)
	lf := fmt.Sprintf(`n = int(env("E2E_N", "1"))
service("web", cmd = %s, env = {"PORT": "%d", "N": str(n)}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port)
	e.write("Loopfile", lf)
	e.up()
	pid := e.resource("web").Pid

	r := e.loopWith([]string{"E2E_N=abc"}, "up", "-d")
	loc := filepath.Join(e.dir, "Loopfile") + ":1:"
	if r.code == 0 || !strings.Contains(r.stderr, loc) {
		t.Fatalf("loop up with a Loopfile that fails: want a non-zero exit naming %s, got %s", loc, r)
	}
	if strings.Contains(r.stderr, "nothing was started") {
		t.Errorf("loop up says %q while the project's last good configuration keeps running:\n%s", "nothing was started", r.stderr)
	}
	if got := e.resource("web"); got.Pid != pid || got.State != api.StateReady {
		t.Errorf("web: pid %d state %s, want the running pid %d still ready", got.Pid, got.State, pid)
	}
	mustGet(t, port, "ok\n")
	shown := e.status().Error

	e.write("Loopfile", lf+"# a comment\n") // changes nothing
	r = e.loop("wait", "--timeout", "30s")
	after := e.status().Error
	if (shown == nil) != (after == nil) {
		t.Errorf("after the failed `loop up`, status showed loopfile_error %+v; after an edit that changes nothing, %+v (loop wait: %s)\n"+
			"want the failed up either rejected (no error either time) or reported at once", shown, after, r)
	}
}
