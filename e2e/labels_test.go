//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// TestLabels_SelectGroups: `-l LABEL` picks the resources with any of the
// labels in loop up, down, disable, enable, trigger and status; down -l
// stops only those and leaves the project up; an unknown label is an
// error that lists the project's labels and changes nothing.
func TestLabels_SelectGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "labels")
	runs := filepath.Join(t.TempDir(), "runs")
	e.write("Loopfile", fmt.Sprintf(`
service("db", cmd = "exec sleep 1000", deps = [], labels = ["backend", "data"])
service("api", cmd = "exec sleep 1000", deps = [], resource_deps = ["db"], labels = ["backend"])
service("web", cmd = "exec sleep 1000", deps = [], labels = ["frontend"])
task("count", cmd = "echo run >> %s", deps = [], labels = ["jobs"])
`, runs))
	e.up()

	states := func() map[string]api.Resource {
		t.Helper()
		m := map[string]api.Resource{}
		for _, r := range e.status().Resources {
			m[r.Name] = r
		}
		return m
	}
	want := func(step string, ws map[string]string) map[string]api.Resource {
		t.Helper()
		got := states()
		for name, w := range ws {
			if got[name].State != w {
				t.Fatalf("%s: %s is %s (%s), want %s", step, name, got[name].State, got[name].Reason, w)
			}
		}
		return got
	}
	before := want("up", map[string]string{"db": api.StateReady, "api": api.StateReady, "web": api.StateReady, "count": api.StateReady})

	// status: the LABELS column, and -l keeps the matching resources.
	if out := e.mustLoop("status").stdout; !strings.Contains(out, "LABELS") || !strings.Contains(out, "backend,data") {
		t.Errorf("loop status: want a LABELS column with db's labels:\n%s", out)
	}
	var sel api.Project
	out := e.mustLoop("status", "--json", "-l", "data,frontend").stdout
	if err := json.Unmarshal([]byte(out), &sel); err != nil {
		t.Fatalf("loop status --json -l data,frontend: %v\n%s", err, out)
	}
	if got := names(sel.Resources); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("loop status -l data,frontend: %v, want db and web (any of the labels)", got)
	}
	if r := e.loop("status", "-l", "fronted"); r.code == 0 || !strings.Contains(r.stderr, "backend, data, frontend, jobs") {
		t.Errorf("loop status -l fronted: want an error listing the labels; got %s", r)
	}

	// down -l: those stop, the project and the rest run on.
	if r := e.mustLoop("down", "-l", "frontend"); !strings.Contains(r.stdout, "web: stopped") {
		t.Errorf("loop down -l frontend printed %q", r.stdout)
	}
	e.settled()
	got := want("down -l frontend", map[string]string{"web": api.StateStopped, "db": api.StateReady, "api": api.StateReady})
	if got["web"].Pid != 0 || alive(before["web"].Pid) {
		t.Errorf("web: pid %d after down -l (was %d, alive %v); want its process gone", got["web"].Pid, before["web"].Pid, alive(before["web"].Pid))
	}
	if got["db"].Pid != before["db"].Pid {
		t.Errorf("down -l frontend restarted db")
	}
	if r := e.loop("trigger", "-l", "frontend"); r.code == 0 || !strings.Contains(r.stderr, "loop up") {
		t.Errorf("loop trigger of a stopped resource: want an error saying how to start it; got %s", r)
	}

	// up -l: the labelled and what they depend on; the others not selected.
	e.mustLoop("up", "-d", "-l", "frontend")
	e.settled()
	want("up -l frontend", map[string]string{"web": api.StateReady, "db": api.StateDisabled, "api": api.StateDisabled, "count": api.StateDisabled})
	e.mustLoop("up", "-d", "-l", "backend")
	e.settled()
	want("up -l backend", map[string]string{"web": api.StateDisabled, "db": api.StateReady, "api": api.StateReady})
	if r := e.loop("up", "-d", "-l", "nope"); r.code == 0 || !strings.Contains(r.stderr, "backend, data, frontend, jobs") {
		t.Errorf("loop up -l nope: want an error listing the labels; got %s", r)
	}
	e.mustLoop("up", "-d")
	e.settled()
	want("up", map[string]string{"web": api.StateReady, "db": api.StateReady, "api": api.StateReady, "count": api.StateReady})

	// disable -l, enable -l.
	e.mustLoop("disable", "-l", "backend")
	e.settled()
	want("disable -l backend", map[string]string{"db": api.StateDisabled, "api": api.StateDisabled, "web": api.StateReady})
	e.mustLoop("enable", "-l", "backend")
	e.settled()
	want("enable -l backend", map[string]string{"db": api.StateReady, "api": api.StateReady})

	// trigger -l re-runs the task.
	count := func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run")
	}
	n := count()
	if r := e.mustLoop("trigger", "-l", "jobs"); !strings.Contains(r.stdout, "count: triggered") {
		t.Errorf("loop trigger -l jobs printed %q", r.stdout)
	}
	e.settled()
	if got := count(); got != n+1 {
		t.Errorf("count ran %d times after trigger -l jobs, want %d", got, n+1)
	}
}

func names(rs []api.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
