//go:build linux

package daemon

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/sandbox"
)

// loopd keeps an evaluator started ahead (sandbox.Pool) while it runs;
// none of its evaluators outlives Run.
func TestDaemon_evaluatorsEndWithRun(t *testing.T) {
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	d := &Daemon{Home: home, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	c := api.NewClient(SocketPath(home))
	waitUntil(t, "the daemon to answer", func() bool { _, err := c.Version(ctx); return err == nil })
	waitUntil(t, "an idle evaluator", func() bool { return len(evaluators()) == 1 })

	p, err := c.Up(ctx, api.UpRequest{Loopfile: writeLoopfile(t, `service("a", cmd = "exec sleep 1000")`), Env: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Wait(ctx, p.Name, 30*time.Second); err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait: %v %+v", err, res)
	}
	waitUntil(t, "the next idle evaluator", func() bool { return len(evaluators()) == 1 })

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if left := evaluators(); len(left) > 0 {
		t.Errorf("evaluators %v are alive after Run returned", left)
	}
}

// evaluators lists this process's live children that are evaluators.
func evaluators() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), sandbox.Arg) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
