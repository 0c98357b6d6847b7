//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/loopdev/loop/api"
)

// TestStatus_WatchJSON: `loop status --watch --json` prints the project
// snapshot, then one event per line as resources change.
func TestStatus_WatchJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "watch")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	e.up()

	lines, _ := e.follow(t, "status", "--watch", "--json")

	var snap api.Project
	if l := next(t, lines); json.Unmarshal([]byte(l), &snap) != nil || snap.Name != "watch" || len(snap.Resources) != 1 {
		t.Fatalf("first line: want the project snapshot, got %s", l)
	}
	old := snap.Resources[0].Pid

	e.mustLoop("restart", "web")
	seq := snap.Seq
	for {
		l := next(t, lines)
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Kind == "" {
			t.Fatalf("want an event per line, got %s (%v)", l, err)
		}
		if ev.Seq <= seq {
			t.Fatalf("event %s: seq %d after %d, want increasing", l, ev.Seq, seq)
		}
		seq = ev.Seq
		if r := ev.Resource; r != nil && r.Name == "web" && r.State == api.StateReady {
			if r.Pid == old || r.Pid == 0 {
				t.Fatalf("web ready again with pid %d, want a new pid (was %d)", r.Pid, old)
			}
			return
		}
	}
}
