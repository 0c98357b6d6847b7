//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"

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

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin.loop, "status", "--watch", "--json")
	cmd.Dir, cmd.Env = e.dir, e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("loop status --watch --json ended early")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("loop status --watch --json: no line within 10s")
		}
		return ""
	}

	var snap api.Project
	if l := next(); json.Unmarshal([]byte(l), &snap) != nil || snap.Name != "watch" || len(snap.Resources) != 1 {
		t.Fatalf("first line: want the project snapshot, got %s", l)
	}
	old := snap.Resources[0].Pid

	e.mustLoop("restart", "web")
	seq := snap.Seq
	for {
		l := next()
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
