package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/logs"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/process"
)

// panickyRuntime starts real processes, except for the resource named
// "buggy", whose start panics (a bug in a runtime, or in what it was given).
type panickyRuntime struct{ process.Runtime }

var _ runtime.Runtime = (*panickyRuntime)(nil)

func (p *panickyRuntime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	if spec.Name == "buggy" {
		var m map[string]int
		m["boom"]++
	}
	return p.Runtime.Start(ctx, spec)
}

// A panic in a runtime fails that resource with what happened; the other
// resources and the engine run on.
func TestEngine_PanicInRuntimeFailsOneResource(t *testing.T) {
	h := newHarness(t)
	h.e.cfg.Runtime = &panickyRuntime{}
	h.set(h.service("buggy", "exec sleep 1000"), h.service("fine", "exec sleep 1000"))
	res := h.wait()
	if res.Outcome != api.OutcomeFailed {
		t.Fatalf("outcome %s, want failed", res.Outcome)
	}
	states := map[string]api.Resource{}
	for _, r := range h.e.Snapshot().Resources {
		states[r.Name] = r
	}
	if b := states["buggy"]; b.State != api.StateFailed || !strings.Contains(b.Reason, "internal error in start buggy: assignment to entry in nil map") {
		t.Errorf("buggy: %s (%s), want failed with the panic", b.State, b.Reason)
	}
	if f := states["fine"]; f.State != api.StateReady {
		t.Errorf("fine: %s (%s), want ready", f.State, f.Reason)
	}
	// The engine still takes inputs.
	if err := h.e.Restart(context.Background(), "fine"); err != nil {
		t.Fatalf("restart after the panic: %v", err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeFailed {
		t.Errorf("outcome after restart %s", res.Outcome)
	}
}

// A panic in the engine's own work (here: while it publishes) is the
// project's problem in its snapshot, and the engine runs on.
func TestEngine_PanicInEngineIsAProblem(t *testing.T) {
	dir := t.TempDir()
	store, err := logs.Open(filepath.Join(dir, ".logs"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var seq, armed atomic.Uint64
	publish := func(ev api.Event) uint64 {
		if ev.Kind == api.EventResource && armed.CompareAndSwap(1, 2) {
			panic("publish broke")
		}
		return seq.Add(1)
	}
	e := New(Config{Project: "test", Runtime: &process.Runtime{}, Logs: store, BaseEnv: os.Environ(), Publish: publish})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, dir: dir, e: e, logs: store}
	armed.Store(1)
	p := &model.Project{Name: "test", Dir: dir, Loopfile: filepath.Join(dir, "Loopfile"), Resources: []*model.Resource{h.service("a", "exec sleep 1000")}}
	// The caller hears of the panic (it does not wait forever for a reply).
	if err := e.SetProject(context.Background(), p); err == nil || !strings.Contains(err.Error(), "publish broke") {
		t.Fatalf("SetProject = %v, want the contained panic", err)
	}
	if len(e.Snapshot().Problems) == 0 {
		t.Fatal("no problem in the snapshot after the engine panicked")
	}
	if p := e.Snapshot().Problems[0]; p.Component != "internal" || !strings.Contains(p.Message, "internal error in the engine: publish broke") {
		t.Errorf("problem = %+v", p)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Errorf("after the panic: outcome %s, want ready (the engine runs on)", res.Outcome)
	}
}
