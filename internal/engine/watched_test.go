package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// fakeKube is a Kubernetes runtime whose handles report the health the
// test sends them; each handle it starts is sent on started.
type fakeKube struct {
	started chan *watchedHandle
}

var _ runtime.Runtime = (*fakeKube)(nil)

func newFakeKube() *fakeKube { return &fakeKube{started: make(chan *watchedHandle, 16)} }

func (f *fakeKube) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	h := &watchedHandle{done: make(chan struct{}), health: make(chan runtime.Health, 16)}
	h.health <- runtime.Health{State: runtime.HealthStarting, Reason: "rolling out"}
	f.started <- h
	return h, nil
}

// next waits for the next handle started.
func (f *fakeKube) next(t *testing.T) *watchedHandle {
	t.Helper()
	select {
	case h := <-f.started:
		return h
	case <-time.After(30 * time.Second):
		t.Fatal("no workload started within 30s")
		return nil
	}
}

type watchedHandle struct {
	done   chan struct{}
	once   sync.Once
	health chan runtime.Health
}

var (
	_ runtime.Handle  = (*watchedHandle)(nil)
	_ runtime.Watched = (*watchedHandle)(nil)
)

func (h *watchedHandle) Done() <-chan struct{}         { return h.done }
func (h *watchedHandle) Exit() runtime.Exit            { return runtime.Exit{} }
func (h *watchedHandle) Pid() int                      { return 0 }
func (h *watchedHandle) Health() <-chan runtime.Health { return h.health }
func (h *watchedHandle) Stop(ctx context.Context) error {
	h.once.Do(func() { close(h.done); close(h.health) })
	return nil
}

func (h *harness) workload(name string) *model.Resource {
	return &model.Resource{
		Name: name, Kind: model.KindKube, Dir: h.dir, Trigger: model.TriggerAuto, AutoStart: true,
		StopSignal: "SIGTERM", StopTimeout: time.Second,
		Workload: &model.Workload{Kind: "Deployment", Name: name},
	}
}

func TestEngine_WatchedHealth(t *testing.T) {
	f := newFakeKube()
	h := newHarness(t)
	h.e.cfg.Kube = f
	h.set(h.workload("api"))
	w := f.next(t)
	h.until("api", "starting with the runtime's reason", func(r api.Resource) bool {
		return r.State == api.StateStarting && r.Reason == "rolling out"
	})
	w.health <- runtime.Health{State: runtime.HealthReady}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s; want ready once the runtime says so", res.Outcome)
	}

	crash := "CrashLoopBackOff: back-off 10s restarting failed container app\npanic: boom"
	w.health <- runtime.Health{State: runtime.HealthFailing, Reason: crash}
	got := h.until("api", "crashed", func(r api.Resource) bool { return r.State == api.StateCrashed })
	if got.Reason != crash {
		t.Errorf("reason %q; want the runtime's %q", got.Reason, crash)
	}
	res := h.wait()
	if res.Outcome != api.OutcomeFailed || len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, "panic: boom") {
		t.Errorf("wait: %s %+v; want failed with the crash and its last lines", res.Outcome, res.Errors)
	}

	w.health <- runtime.Health{State: runtime.HealthReady}
	h.until("api", "ready again", func(r api.Resource) bool { return r.State == api.StateReady })
	if n := len(f.started); n != 0 {
		t.Errorf("%d more starts; the cluster restarts crashed pods, loop must not start the workload again", n)
	}
}

// A crash-looping workload gives back its start slot: the others start.
func TestEngine_WatchedFailingFreesSlot(t *testing.T) {
	f := newFakeKube()
	h := newHarness(t)
	h.e.cfg.Kube = f
	h.e.cfg.Parallelism = 1
	h.set(h.workload("bad"), h.service("next", "sleep 60"))
	w := f.next(t)
	w.health <- runtime.Health{State: runtime.HealthFailing, Reason: "ImagePullBackOff"}
	h.until("next", "started after the failing workload freed its slot", func(r api.Resource) bool { return r.State == api.StateReady })
}
