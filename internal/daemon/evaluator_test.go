//go:build linux

package daemon

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/sandbox/sandboxtest"
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
	c := api.NewClient(loophome.Socket(home))
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
func evaluators() []int { return sandboxtest.Children(os.Getpid()) }
