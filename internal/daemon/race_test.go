package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// markedProcs returns the pids whose command line contains marker.
func markedProcs(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue // exited, not yet reaped
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func waitNoProcs(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(markedProcs(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v (%s) still run after loop down", markedProcs(marker), marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Concurrent `loop up`s of one Loopfile start one project, not one each
// (the extra ones ran on, unknown to the daemon, until it was killed).
func TestDaemon_ConcurrentUpsStartOneProject(t *testing.T) {
	c := startDaemon(t)
	marker := fmt.Sprintf("marker-up-%d", time.Now().UnixNano())
	lf := writeLoopfile(t, fmt.Sprintf(`service("a", cmd="sleep 1000; : %s")`, marker))
	var wg sync.WaitGroup
	names := make([]string, 4)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Up(context.Background(), api.UpRequest{Loopfile: lf, Env: os.Environ()})
			if err != nil {
				t.Errorf("up %d: %v", i, err)
				return
			}
			names[i] = p.Name
		}()
	}
	wg.Wait()
	for _, n := range names[1:] {
		if n != names[0] {
			t.Fatalf("concurrent ups got projects %v, want one name", names)
		}
	}
	if ps, err := c.Projects(context.Background()); err != nil || len(ps) != 1 {
		t.Fatalf("projects: %d, %v; want 1", len(ps), err)
	}
	if err := c.Down(context.Background(), names[0]); err != nil {
		t.Fatal(err)
	}
	waitNoProcs(t, marker)
}

// A `loop down` that comes while the project is still starting brings it
// down: nothing it started runs on.
func TestDaemon_DownWhileStarting(t *testing.T) {
	c := startDaemon(t)
	for i := range 10 {
		marker := fmt.Sprintf("marker-down-%d-%d", time.Now().UnixNano(), i)
		// local() keeps the evaluation busy, so down lands while starting.
		lf := writeLoopfile(t, fmt.Sprintf("local(\"sleep 0.%d\")\nservice(\"a\", cmd=\"sleep 1000; : %s\")", i%3, marker))
		name := filepath.Base(filepath.Dir(lf))
		upErr := make(chan error, 1)
		go func() {
			_, err := c.Up(context.Background(), api.UpRequest{Loopfile: lf, Env: os.Environ()})
			upErr <- err
		}()
		// Down until it is down: the first may come before the up registers.
		deadline := time.Now().Add(30 * time.Second)
		downed := false
		for !downed && time.Now().Before(deadline) {
			downed = c.Down(context.Background(), name) == nil
		}
		err := <-upErr
		if !downed {
			t.Fatalf("round %d: never got a successful down (up: %v)", i, err)
		}
		if ps, _ := c.Projects(context.Background()); len(ps) != 0 {
			t.Fatalf("round %d: after down, projects %v are up (up: %v)", i, ps, err)
		}
		waitNoProcs(t, marker)
	}
}
