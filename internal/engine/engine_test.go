package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/logs"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime/process"
)

// harness runs an engine over real processes in a temp project dir.
type harness struct {
	t      *testing.T
	dir    string
	e      *Engine
	logs   *logs.Store
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T) *harness { t.Helper(); return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with the engine's config edited by edit.
func newHarnessWith(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := logs.Open(filepath.Join(dir, ".logs"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, logs: store, done: make(chan struct{})}
	cfg := Config{Project: "test", Runtime: &process.Runtime{}, Logs: store, BaseEnv: os.Environ()}
	if edit != nil {
		edit(&cfg)
	}
	h.e = New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		h.e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
		store.Close()
	})
	return h
}

func (h *harness) service(name, cmd string, deps ...string) *model.Resource {
	return &model.Resource{
		Name: name, Kind: model.KindService, Cmd: []string{"sh", "-c", cmd}, Dir: h.dir,
		Deps: []string{filepath.Join(h.dir, name)}, ResourceDeps: deps, Trigger: model.TriggerAuto,
		AutoStart: true, StopSignal: "SIGTERM", StopTimeout: 2 * time.Second, Restart: model.RestartOnChange,
	}
}

func (h *harness) task(name, cmd string, deps ...string) *model.Resource {
	r := h.service(name, cmd, deps...)
	r.Kind = model.KindTask
	return r
}

func (h *harness) set(rs ...*model.Resource) {
	h.t.Helper()
	p := &model.Project{Name: "test", Dir: h.dir, Loopfile: filepath.Join(h.dir, "Loopfile"), Resources: rs}
	if err := h.e.SetProject(context.Background(), p); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) wait() api.WaitResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.e.Wait(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) resource(name string) api.Resource {
	for _, r := range h.e.Snapshot().Resources {
		if r.Name == name {
			return r
		}
	}
	h.t.Fatalf("no resource %q in snapshot", name)
	return api.Resource{}
}

// linesAtLeast polls until a resource printed n stdout lines (a service
// without a probe is ready before it prints) and returns them.
func (h *harness) linesAtLeast(name string, n int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := h.lines(name)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lines returns the stdout lines of a resource.
func (h *harness) lines(name string) []string {
	var out []string
	for _, l := range h.logs.Query(logs.Query{Resources: []string{name}}) {
		if l.Stream == "stdout" {
			out = append(out, l.Text)
		}
	}
	return out
}

func TestEngine_DepsStartInOrderAndSettle(t *testing.T) {
	h := newHarness(t)
	marker := filepath.Join(h.dir, "gen.txt")
	h.set(
		h.task("gen", "echo generated > "+marker),
		h.service("api", "cat "+marker+"; exec sleep 100", "gen"),
	)
	res := h.wait()
	if res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome = %s, errors %+v; want ready", res.Outcome, res.Errors)
	}
	if got := h.linesAtLeast("api", 1); len(got) == 0 || got[0] != "generated" {
		t.Fatalf("api output = %q; want it to start after gen wrote the file", got)
	}
	if got, want := h.resource("gen").State, api.StateReady; got != want {
		t.Errorf("gen state = %s, want %s", got, want)
	}
}

func TestEngine_TaskRerunRestartsDependants(t *testing.T) {
	h := newHarness(t)
	h.set(
		h.task("gen", "true"),
		h.service("api", "echo started; exec sleep 100", "gen"),
	)
	h.wait()
	h.linesAtLeast("api", 1)
	pid := h.resource("api").Pid
	if err := h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "gen", "schema.json")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome = %s, want ready", res.Outcome)
	}
	if got := h.resource("api"); got.Pid == pid || got.State != api.StateReady {
		t.Fatalf("api pid %d state %s after gen re-ran; want a new pid (was %d), ready", got.Pid, got.State, pid)
	}
	if got := len(h.linesAtLeast("api", 2)); got != 2 {
		t.Errorf("api started %d times, want 2", got)
	}
}

func TestEngine_ChangeRestartsOnlyAffected(t *testing.T) {
	h := newHarness(t)
	h.set(h.service("a", "exec sleep 100"), h.service("b", "exec sleep 100"))
	h.wait()
	a, b := h.resource("a").Pid, h.resource("b").Pid
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "a", "main.go")}, time.Now())
	h.wait()
	if h.resource("a").Pid == a {
		t.Error("a was not restarted by a change in its deps")
	}
	if h.resource("b").Pid != b {
		t.Error("b was restarted by a change outside its deps")
	}
}

func TestEngine_IgnoredChangeRestartsNothing(t *testing.T) {
	h := newHarness(t)
	s := h.service("a", "exec sleep 100")
	s.Ignore = []string{"*.log"}
	h.set(s)
	h.wait()
	pid := h.resource("a").Pid
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "a", "debug.log")}, time.Now())
	h.wait()
	if h.resource("a").Pid != pid {
		t.Error("a change matching ignore= restarted the service")
	}
}

func TestEngine_FailedTaskBlocksDependants(t *testing.T) {
	h := newHarness(t)
	h.set(h.task("gen", "echo boom >&2; exit 3"), h.service("api", "exec sleep 100", "gen"))
	res := h.wait()
	if res.Outcome != api.OutcomeFailed {
		t.Fatalf("outcome = %s, want failed", res.Outcome)
	}
	var genErr *api.Error
	for i, e := range res.Errors {
		if e.Resource == "gen" {
			genErr = &res.Errors[i]
		}
	}
	if genErr == nil || !strings.Contains(genErr.Message, "exited 3") || len(genErr.Log) == 0 || genErr.Log[0] != "boom" {
		t.Fatalf("errors = %+v; want gen exited 3 with its output", res.Errors)
	}
	if got := h.resource("api"); got.State != api.StatePending || !strings.Contains(got.Reason, "gen") {
		t.Errorf("api = %s (%s); want pending, waiting for gen", got.State, got.Reason)
	}
}

func TestEngine_CrashRestartsWithBackoff(t *testing.T) {
	h := newHarness(t)
	count := filepath.Join(h.dir, "count")
	h.set(h.service("flaky", "echo x >> "+count+"; exit 1"))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r := h.resource("flaky"); r.Restarts >= 3 {
			if r.State != api.StateCrashed && r.State != api.StateStarting {
				t.Fatalf("state = %s, want crashed", r.State)
			}
			b, _ := os.ReadFile(count)
			if n := strings.Count(string(b), "x"); n < 3 {
				t.Fatalf("ran %d times, want >= 3", n)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("flaky restarted %d times in 10s; want crash restarts with backoff", h.resource("flaky").Restarts)
}

func TestEngine_DisableEnable(t *testing.T) {
	h := newHarness(t)
	h.set(h.service("a", "exec sleep 100"))
	h.wait()
	ctx := context.Background()
	if err := h.e.Disable(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	h.wait()
	if got := h.resource("a"); got.State != api.StateDisabled || got.Pid != 0 {
		t.Fatalf("after disable: %s pid %d; want disabled, no process", got.State, got.Pid)
	}
	if err := h.e.Enable(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("after enable: outcome %s", res.Outcome)
	}
	if err := h.e.Restart(ctx, "nope"); err == nil {
		t.Error("restart of an unknown resource: want an error")
	}
}

func TestEngine_ManualTrigger(t *testing.T) {
	h := newHarness(t)
	s := h.service("a", "exec sleep 100")
	s.Trigger = model.TriggerManual
	h.set(s)
	h.wait()
	pid := h.resource("a").Pid
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "a", "x")}, time.Now())
	h.wait()
	if got := h.resource("a"); got.Pid != pid || !got.Pending {
		t.Fatalf("manual resource: pid %d (was %d) pending %v; want untouched with pending changes", got.Pid, pid, got.Pending)
	}
	h.e.Trigger(context.Background(), "a")
	h.wait()
	if got := h.resource("a"); got.Pid == pid || got.Pending {
		t.Fatalf("after trigger: pid %d pending %v; want restarted", got.Pid, got.Pending)
	}
}

func TestEngine_SetProjectDiffs(t *testing.T) {
	h := newHarness(t)
	h.set(h.service("keep", "exec sleep 100"), h.service("change", "exec sleep 100"), h.service("drop", "exec sleep 100"))
	h.wait()
	keep, change := h.resource("keep").Pid, h.resource("change").Pid
	changed := h.service("change", "exec sleep 101")
	h.set(h.service("keep", "exec sleep 100"), changed, h.service("new", "exec sleep 100"))
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s: %+v", res.Outcome, res.Errors)
	}
	if h.resource("keep").Pid != keep {
		t.Error("an unchanged resource was restarted")
	}
	if h.resource("change").Pid == change {
		t.Error("a changed resource kept running its old command")
	}
	var names []string
	for _, r := range h.e.Snapshot().Resources {
		names = append(names, r.Name)
	}
	if got, want := strings.Join(names, ","), "keep,change,new"; got != want {
		t.Errorf("resources = %s, want %s", got, want)
	}
}

func TestEngine_PortInUse(t *testing.T) {
	h := newHarness(t)
	ln := listen(t)
	s := h.service("web", "exec sleep 100")
	s.Ports = []int{ln}
	h.set(s)
	res := h.wait()
	if res.Outcome != api.OutcomeFailed || !strings.Contains(h.resource("web").Reason, fmt.Sprintf("port %d is already in use", ln)) {
		t.Fatalf("outcome %s, reason %q; want failed: port in use", res.Outcome, h.resource("web").Reason)
	}
}

func TestEngine_CommandNotFound(t *testing.T) {
	h := newHarness(t)
	s := h.service("web", "")
	s.Cmd = []string{"definitely-not-a-command-xyz"}
	h.set(s)
	res := h.wait()
	if got := h.resource("web"); res.Outcome != api.OutcomeFailed || !strings.Contains(got.Reason, "not found") {
		t.Fatalf("outcome %s, reason %q; want failed, command not found", res.Outcome, got.Reason)
	}
}

func TestEngine_ParallelismLimit(t *testing.T) {
	dir := t.TempDir()
	store, err := logs.Open(filepath.Join(dir, ".logs"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// Publish runs on the engine goroutine: no lock needed for these.
	states := map[string]string{}
	most := 0
	var seq uint64
	e := New(Config{Project: "p", Runtime: &process.Runtime{}, Logs: store, BaseEnv: os.Environ(), Parallelism: 2,
		Publish: func(ev api.Event) uint64 {
			if ev.Resource != nil {
				states[ev.Resource.Name] = ev.Resource.State
				n := 0
				for _, s := range states {
					if s == api.StateStarting {
						n++
					}
				}
				most = max(most, n)
			}
			seq++
			return seq
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, dir: dir, e: e, logs: store}
	var rs []*model.Resource
	for i := range 6 {
		rs = append(rs, h.task(fmt.Sprintf("t%d", i), "sleep 0.05"))
	}
	h.set(rs...)
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if most != 2 {
		t.Errorf("at most %d resources were starting at once, want exactly the limit 2", most)
	}
}

func TestEngine_SaveToLive(t *testing.T) {
	h := newHarness(t)
	h.set(h.service("a", "exec sleep 100"))
	h.wait()
	if got := h.resource("a").SaveToLive; got != 0 {
		t.Fatalf("SaveToLive after the initial start = %s, want 0 (not change-driven)", got)
	}
	seen := time.Now().Add(-300 * time.Millisecond) // the watcher saw the change earlier
	h.e.ChangedAt(context.Background(), []string{filepath.Join(h.dir, "a", "main.go")}, seen)
	h.wait()
	if got := h.resource("a").SaveToLive; got < 300*time.Millisecond || got > 10*time.Second {
		t.Errorf("SaveToLive = %s, want it measured from the change (>= 300ms)", got)
	}
}

func TestEngine_StopOneResource(t *testing.T) {
	h := newHarness(t)
	db, web, other := h.service("db", "exec sleep 100"), h.service("web", "exec sleep 100", "db"), h.service("other", "exec sleep 100")
	h.set(db, web, other)
	h.wait()
	ctx := context.Background()
	pid := h.resource("other").Pid
	if err := h.e.Stop(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("after stop: outcome %s %+v; want ready (a stopped resource is not waited for)", res.Outcome, res.Errors)
	}
	if got := h.resource("db"); got.State != api.StateStopped || got.Pid != 0 || !strings.Contains(got.Reason, "loop up") {
		t.Fatalf("after stop: db %s (%s) pid %d; want stopped, no process, a reason naming loop up", got.State, got.Reason, got.Pid)
	}
	if got := h.resource("other").Pid; got != pid {
		t.Errorf("stopping db restarted other (pid %d -> %d)", pid, got)
	}
	if err := h.e.Trigger(ctx, "db"); err == nil || !strings.Contains(err.Error(), "loop up") {
		t.Errorf("trigger of a stopped resource: err %v; want one saying how to start it", err)
	}
	h.e.ChangedAt(ctx, []string{filepath.Join(h.dir, "db", "x")}, time.Now())
	h.wait()
	if got := h.resource("db").State; got != api.StateStopped {
		t.Fatalf("a change started the stopped db: %s", got)
	}

	// loop up (every resource) starts it again, the rest untouched.
	p := &model.Project{Name: "test", Dir: h.dir, Loopfile: filepath.Join(h.dir, "Loopfile"), Resources: []*model.Resource{db, web, other}}
	if err := h.e.Up(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady || h.resource("db").Pid == 0 {
		t.Fatalf("after up: outcome %s, db %+v; want db running again", res.Outcome, h.resource("db"))
	}
	if got := h.resource("other").Pid; got != pid {
		t.Errorf("up restarted other (pid %d -> %d)", pid, got)
	}

	// So does enable.
	h.e.Stop(ctx, "db")
	h.wait()
	if err := h.e.Enable(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady || h.resource("db").State != api.StateReady {
		t.Fatalf("after enable: outcome %s, db %s", res.Outcome, h.resource("db").State)
	}
}

func TestEngine_UpSelectsAtOnce(t *testing.T) {
	h := newHarness(t)
	marker := filepath.Join(h.dir, "started")
	p := &model.Project{Name: "test", Dir: h.dir, Loopfile: filepath.Join(h.dir, "Loopfile"), Resources: []*model.Resource{
		h.service("a", "exec sleep 100"), h.task("b", "touch "+marker),
	}}
	if err := h.e.Up(context.Background(), p, []string{"nope"}); err == nil {
		t.Fatal("up with an unknown resource: want an error")
	}
	h.wait()
	if err := h.e.Up(context.Background(), p, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	h.wait()
	if got := h.resource("b").State; got != api.StateDisabled {
		t.Errorf("b = %s; want disabled (not selected)", got)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("b ran although only a was selected")
	}
}
