package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// fakeContainers is a recording container runtime: the engine's routing of
// changes (update in place, rebuild, failure) is what is tested here; the
// real runtimes have their own integration tests against dockerd.
type fakeContainers struct {
	mu      sync.Mutex
	starts  int
	updates [][]string
	result  func(paths []string) error // Update's answer
}

var _ runtime.Runtime = (*fakeContainers)(nil)

func (f *fakeContainers) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	f.mu.Lock()
	f.starts++
	f.mu.Unlock()
	return &fakeHandle{f: f, done: make(chan struct{}), pid: 100 + f.starts}, nil
}

func (f *fakeContainers) counts() (int, [][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts, slices.Clone(f.updates)
}

type fakeHandle struct {
	f    *fakeContainers
	done chan struct{}
	once sync.Once
	pid  int
}

var (
	_ runtime.Handle  = (*fakeHandle)(nil)
	_ runtime.Updater = (*fakeHandle)(nil)
)

func (h *fakeHandle) Done() <-chan struct{} { return h.done }
func (h *fakeHandle) Exit() runtime.Exit    { return runtime.Exit{Code: 0} }
func (h *fakeHandle) Pid() int              { return h.pid }
func (h *fakeHandle) Stop(ctx context.Context) error {
	h.once.Do(func() { close(h.done) })
	return nil
}
func (h *fakeHandle) Update(ctx context.Context, paths []string) error {
	h.f.mu.Lock()
	h.f.updates = append(h.f.updates, paths)
	res := h.f.result
	h.f.mu.Unlock()
	if res != nil {
		return res(paths)
	}
	return nil
}

func newContainerHarness(t *testing.T, f *fakeContainers) *harness {
	h := newHarness(t)
	h.e.cfg.Containers = f
	return h
}

func (h *harness) container(name string, steps ...model.Step) *model.Resource {
	src := filepath.Join(h.dir, "src")
	return &model.Resource{
		Name: name, Kind: model.KindContainer, Dir: h.dir, Deps: []string{src, filepath.Join(h.dir, "Dockerfile")},
		Trigger: model.TriggerAuto, AutoStart: true, StopSignal: "SIGTERM", StopTimeout: time.Second,
		Container: &model.Container{Image: "img", Sync: []model.SyncRule{{Local: src, Remote: "/app"}}, OnChange: steps},
	}
}

func TestEngine_ContainerChangeUpdatesInPlace(t *testing.T) {
	f := &fakeContainers{}
	h := newContainerHarness(t, f)
	h.set(h.container("app", model.Step{Restart: true}))
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s: %+v", res.Outcome, res.Errors)
	}
	changed := filepath.Join(h.dir, "src", "main.go")
	h.e.ChangedAt(context.Background(), []string{changed}, time.Now())
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("after a change: outcome %s", res.Outcome)
	}
	starts, updates := f.counts()
	if starts != 1 || len(updates) != 1 || updates[0][0] != changed {
		t.Fatalf("starts %d, updates %v; want the change applied in place (1 start, 1 update of %s)", starts, updates, changed)
	}
}

func TestEngine_ContainerRebuild(t *testing.T) {
	f := &fakeContainers{result: func([]string) error { return fmt.Errorf("dockerfile: %w", runtime.ErrRebuild) }}
	h := newContainerHarness(t, f)
	h.set(h.container("app"))
	h.wait()
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "Dockerfile")}, time.Now())
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if starts, _ := f.counts(); starts != 2 {
		t.Errorf("starts = %d; want a rebuild (a second start)", starts)
	}
}

func TestEngine_ContainerFailedStep(t *testing.T) {
	f := &fakeContainers{result: func([]string) error { return errors.New(`run "make": exited 2: boom`) }}
	h := newContainerHarness(t, f)
	h.set(h.container("app", model.Step{Cmd: []string{"make"}}, model.Step{Restart: true}))
	h.wait()
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "src", "x.c")}, time.Now())
	res := h.wait()
	got := h.resource("app")
	if res.Outcome != api.OutcomeFailed || got.State != api.StateFailed || got.Reason != `run "make": exited 2: boom` {
		t.Fatalf("outcome %s, app %s (%s); want failed with the step's error", res.Outcome, got.State, got.Reason)
	}
	// The container keeps running; the next change updates it again.
	f.mu.Lock()
	f.result = nil
	f.mu.Unlock()
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "src", "x.c")}, time.Now())
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("after the fix: outcome %s", res.Outcome)
	}
	if starts, updates := f.counts(); starts != 1 || len(updates) != 2 {
		t.Errorf("starts %d updates %d; want 1 start, 2 updates", starts, len(updates))
	}
}

func TestEngine_ContainersUnavailable(t *testing.T) {
	h := newHarness(t)
	h.set(h.container("app"))
	res := h.wait()
	if got := h.resource("app"); res.Outcome != api.OutcomeFailed || got.State != api.StateFailed {
		t.Fatalf("without a container runtime: %s %s; want failed", res.Outcome, got.State)
	}
}
