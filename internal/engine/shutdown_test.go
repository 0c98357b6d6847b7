package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// gatedRuntime is a runtime whose Start says it was called, then returns
// its handle once the gate opens, whatever its context says: a start
// whose result arrives however late.
type gatedRuntime struct {
	entered chan struct{}
	gate    chan struct{}
	handle  *fakeHandle
}

var _ runtime.Runtime = (*gatedRuntime)(nil)

func newGated() *gatedRuntime {
	return &gatedRuntime{entered: make(chan struct{}), gate: make(chan struct{}), handle: &fakeHandle{done: make(chan struct{})}}
}

func (g *gatedRuntime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	close(g.entered)
	<-g.gate
	return g.handle, nil
}

func stopped(h *fakeHandle) bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// TestEngine_ShutdownStopsHandedOverContainer: a container whose launch
// handed its handle to the engine just before shutdown is stopped by the
// shutdown. The loop goroutine is held in a process start while the
// launch's result is queued and the engine is cancelled; Run then sees
// both the queued result and the cancellation. Run used to pick either:
// when it picked the cancellation, the result was dropped and the
// container outlived `loop down`.
func TestEngine_ShutdownStopsHandedOverContainer(t *testing.T) {
	for i := range 20 { // Run's choice was random: each round had a one in two chance
		h := newHarness(t)
		procs, ctrs := newGated(), newGated()
		h.e.cfg.Runtime, h.e.cfg.Containers = procs, ctrs
		set := make(chan struct{})
		go func() {
			defer close(set)
			h.e.SetProject(context.Background(), projectOf(h, h.container("c"), h.service("p", "unused")))
		}()
		<-ctrs.entered  // the launch of c waits in Start
		<-procs.entered // the loop goroutine waits in p's Start
		close(ctrs.gate)
		deadline := time.Now().Add(10 * time.Second)
		for len(h.e.in) == 0 { // the launch's result is queued
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the launch's result never reached the engine's input", i)
			}
			time.Sleep(time.Millisecond)
		}
		h.cancel()
		close(procs.gate)
		<-h.done
		<-set
		if !stopped(ctrs.handle) {
			t.Fatalf("round %d: the container handed over before shutdown was not stopped", i)
		}
		if !stopped(procs.handle) {
			t.Fatalf("round %d: the process was not stopped", i)
		}
	}
}

func projectOf(h *harness, rs ...*model.Resource) *model.Project {
	return &model.Project{Name: "test", Dir: h.dir, Loopfile: filepath.Join(h.dir, "Loopfile"), Resources: rs}
}
