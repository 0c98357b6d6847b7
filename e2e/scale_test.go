//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// manyResources is a Loopfile of n services that do not start
// (auto_start=False): s100000, s100001, ...
func manyResources(n int) string {
	return fmt.Sprintf(`for i in range(%d):
    service("s%%d" %% (100000 + i), cmd = ["sleep", "100000"], auto_start = False, deps = [])
`, n)
}

// TestEvents_OneChangeAmongMany: in a project of 2,000 resources, a change
// of one resource reaches `loop status --watch --json` as events that carry
// that resource only, never the project; the action's reply holds it
// alone too.
func TestEvents_OneChangeAmongMany(t *testing.T) {
	t.Parallel()
	const n = 2000
	e := newEnv(t, "many")
	e.write("Loopfile", manyResources(n))
	e.up()

	lines, _ := e.follow(t, "status", "--watch", "--json")
	var snap api.Project
	first := next(t, lines)
	if err := json.Unmarshal([]byte(first), &snap); err != nil || len(snap.Resources) != n {
		t.Fatalf("first line: want the snapshot of %d resources, got %d (%v)", n, len(snap.Resources), err)
	}

	e.mustLoop("disable", "s100777")
	for {
		l := next(t, lines)
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Kind == "" {
			t.Fatalf("want an event per line, got %.300s (%v)", l, err)
		}
		if got := strings.Count(l, `"state":`); got > 1 {
			t.Fatalf("one event carries %d resource states, want at most 1 (the one that changed): %.300s", got, l)
		}
		if len(l) > len(first)/100 {
			t.Fatalf("one event is %d bytes, the snapshot of %d resources %d: want it proportional to the change", len(l), n, len(first))
		}
		if r := ev.Resource; r != nil {
			if r.Name != "s100777" {
				t.Fatalf("disabling s100777 emitted an event of %s: %s", r.Name, l)
			}
			if r.State == api.StateDisabled {
				break
			}
		}
	}

	// The action's reply is the resource acted on, not the project.
	reply := e.post(t, "/v1/projects/many/resources/s100123/disable")
	var p api.Project
	if err := json.Unmarshal(reply, &p); err != nil || len(p.Resources) != 1 || p.Resources[0].Name != "s100123" || p.Resources[0].State != api.StateDisabled {
		t.Fatalf("disable reply: want the project with s100123 (disabled) only, got %d resources (%v): %.300s", len(p.Resources), err, reply)
	}
}

// TestStatus_WatchAppliesEvents: `loop status -w` keeps its table up to
// date from the events: a resource disabled among 2,000 shows as such.
func TestStatus_WatchAppliesEvents(t *testing.T) {
	t.Parallel()
	const n = 2000
	e := newEnv(t, "manywatch")
	e.write("Loopfile", manyResources(n))
	e.up()

	_, out := e.follow(t, "status", "-w")
	if !poll(30*time.Second, func() bool { return strings.Count(out(), "\n") >= n+1 }) {
		t.Fatalf("loop status -w: no table of %d resources within 30s:\n%.2000s", n, out())
	}
	e.mustLoop("disable", "s101999")
	disabled := func() bool {
		for _, l := range strings.Split(out(), "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[0] == "s101999" && strings.Contains(l, api.StateDisabled) {
				return true
			}
		}
		return false
	}
	if !poll(30*time.Second, disabled) {
		t.Fatalf("loop status -w: s101999 not shown disabled within 30s")
	}
}
