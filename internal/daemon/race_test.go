package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
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

// loopd stops promptly when it is stopped while a project re-evaluates
// its Loopfile (a local() running): the project's goroutines once waited
// for a watcher result the reload had already taken.
func TestDaemon_StopDuringReload(t *testing.T) {
	for i := range 5 {
		home, err := os.MkdirTemp("", "lh")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(home)
		d := &Daemon{Home: home, Version: "test"}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		c := api.NewClient(loophome.Socket(home))
		deadline := time.Now().Add(30 * time.Second)
		for _, err := c.Version(context.Background()); err != nil; _, err = c.Version(context.Background()) {
			if time.Now().After(deadline) {
				t.Fatal("daemon did not answer")
			}
			time.Sleep(5 * time.Millisecond)
		}
		lf := writeLoopfile(t, `service("a", cmd="exec sleep 1000")`+"\n")
		up(t, c, lf)
		marker := fmt.Sprintf("1000.%d%d", time.Now().UnixNano()%1000, i)
		if err := os.WriteFile(lf, []byte(`service("a", cmd="exec sleep 1000")`+"\nlocal('sleep "+marker+"')\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(30 * time.Second)
		for len(markedProcs("sleep\x00"+marker)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the reload's local() never ran", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: daemon: %v", i, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: loopd did not stop within 60s of being stopped during a reload", i)
		}
		waitNoProcs(t, "sleep\x00"+marker)
	}
}

// The output of a project's first evaluation (print, local) reaches its
// log redacted, also when that evaluation fails: the secrets it declared
// are resolved before its output is written.
func TestDaemon_FirstEvaluationOutputRedacted(t *testing.T) {
	c := startDaemon(t)
	const value = "first-eval-value-7c1d"
	t.Setenv("LOOP_TEST_EVAL_TOKEN", value)
	for _, tc := range []struct{ name, tail string }{
		{"good", `service("a", cmd="exec sleep 1000")`},
		{"broken", `service("a", cmd="exec sleep 1000", bogus=1)`},
	} {
		lf := writeLoopfile(t, `t = secret("tok", from_env="LOOP_TEST_EVAL_TOKEN")
print("print says " + env("LOOP_TEST_EVAL_TOKEN"))
local("echo local says $LOOP_TEST_EVAL_TOKEN")
`+tc.tail+"\n")
		p, err := c.Up(context.Background(), api.UpRequest{Loopfile: lf, Env: os.Environ()})
		if (err != nil) != (tc.name == "broken") {
			t.Fatalf("%s: up: %v", tc.name, err)
		}
		q := api.LogsQuery{}
		name := filepath.Base(filepath.Dir(lf))
		if err == nil {
			name = p.Name
		} else {
			q.Loopfile = lf
		}
		var text strings.Builder
		if err := c.Logs(context.Background(), name, q, func(l api.LogLine) error {
			text.WriteString(l.Text + "\n")
			return nil
		}); err != nil {
			t.Fatalf("%s: logs: %v", tc.name, err)
		}
		got := text.String()
		if strings.Contains(got, value) || strings.Count(got, "[redacted:tok]") < 2 {
			t.Errorf("%s: the first evaluation's output is not redacted:\n%s", tc.name, got)
		}
		if err == nil {
			c.Down(context.Background(), p.Name)
		}
	}
}
