//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
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

// follow runs the CLI in the background until the test ends: lines
// delivers its output line by line, out returns all of it so far (use
// one or the other).
func (e *loopEnv) follow(t *testing.T, args ...string) (lines <-chan string, out func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin.loop, args...)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1<<16) // a few tables of `loop status -w` while nobody reads
	var mu sync.Mutex
	var all bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			mu.Lock()
			all.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case ch <- sc.Text():
			case <-ctx.Done():
				io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cmd.Wait()
	})
	return ch, func() string {
		mu.Lock()
		defer mu.Unlock()
		return all.String()
	}
}

// post is POST path on the daemon's socket; it returns the body of a 200.
func (e *loopEnv) post(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := e.socketHTTP().Post("http://loopd"+path, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %v: %s", path, resp.Status, err, b)
	}
	return b
}

// next is the next line of a follow, within 30s.
func next(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("the command ended early")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no line within 30s")
	}
	return ""
}
