// Package engine reconciles a project's desired state (model.Project) with
// what is running, and owns every resource's state machine.
//
// One goroutine (Run) owns all mutable state: every input — a new project
// from a re-evaluated Loopfile, a batch of changed files, a user command, a
// process exit, a readiness result, a backoff timer — is a closure sent to
// that goroutine over e.in. Nothing else reads or writes the fields marked
// "loop-owned". After each input the engine reconciles (schedule), then
// publishes an immutable api.Project snapshot and one event per resource
// whose visible state changed. Readers take the snapshot; they never touch
// the maps.
//
// Each resource moves through pending -> starting -> ready, and to crashed
// (a service exited; restarted with capped exponential backoff), failed (a
// task exited non-zero, or the command could not start), stopped or
// disabled; a ready service whose readiness probe keeps failing while it
// runs is unresponsive until the probe passes again (readiness.go). A
// resource that "needs" a run starts once every resource it depends on is
// ready and a parallelism slot is free; when a task re-runs successfully,
// the resources depending on it run again too.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/isolate"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// LogSink receives a resource's output; stream is "stdout", "stderr" or
// "loop" (what loop says about the resource). Its writers split lines,
// redact secret values and hand each line as stored to each (if not
// nil); a writer may have a `Flush() error` method for the end of the
// output (logs.Store.TeeWriter).
type LogSink interface {
	TeeWriter(resource, stream string, each func(line string)) io.Writer
}

// Config wires an engine.
type Config struct {
	Project     string          // project name, for events
	Runtime     runtime.Runtime // starts processes
	Containers  runtime.Runtime // starts containers; nil: container resources fail with a clear error
	Kube        runtime.Runtime // applies Kubernetes workloads; nil: k8s resources fail with a clear error
	Home        string          // loop's state root, passed to container runtimes
	Logs        LogSink
	Publish     func(api.Event) uint64 // assigns the event its sequence number; called on the loop goroutine
	BaseEnv     []string               // environment of `loop up`; resource env is added on top
	Parallelism int                    // resources starting at once (0 = 4)
	Secrets     SecretResolver         // resolves secret() env values; nil: a resource using one fails
	// SecretsDir is where the project's file secrets (secret(..., file=))
	// are written for local processes, one directory per resource; it is
	// removed when the project stops. "": file secrets are unavailable.
	SecretsDir string
	// ReadyProbePeriod is the shortest interval between two readiness
	// checks of a ready service (0: DefaultReadyProbePeriod).
	ReadyProbePeriod time.Duration
	// SlowReady is how long a container may fail its readiness probe
	// before its engine's own warnings join its reason (0: DefaultSlowReady).
	SlowReady time.Duration
	// TraceExport is where resources export traces (injected as
	// OTEL_EXPORTER_OTLP_ENDPOINT and friends); zero: nowhere.
	TraceExport TraceExport
	// Tracer records loopd's own work on a change (tracing.go); nil: none.
	Tracer oteltrace.Tracer
	Logger *slog.Logger
}

// Backoff bounds for crash restarts.
const (
	minBackoff   = 250 * time.Millisecond
	maxBackoff   = 30 * time.Second
	stableUptime = 10 * time.Second // a service that ran this long resets its backoff
	tailLines    = 200              // output lines kept per resource, parsed for diagnostics on failure
	reportLines  = 20               // of which error reports carry the last
)

// Engine reconciles one project.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	in   chan func()
	quit chan struct{} // closed when shutdown begins: sends are refused from then on
	done chan struct{} // closed when Run returns

	// sendMu orders sends against shutdown: a send either lands in in
	// before shutdown drains it, and runs, or reports false, and its
	// sender cleans up (a launch stops the container it brought up). No
	// input is accepted and then dropped. Senders hold it for reading.
	sendMu sync.RWMutex
	closed bool // under sendMu: shutdown has begun

	inflight sync.WaitGroup // goroutines doing runtime work (launch, update, stop): shutdown waits for them

	snap atomic.Pointer[snapshot]

	// loop-owned: touched only on the Run goroutine.
	project *model.Project
	res     map[string]*res
	order   []string
	loopErr *api.Error
	slots   int
	waiters []*waiter
	pubSnap map[string]*api.Resource // last state per resource an event carried
	lastSeq uint64
	// pubProject is the configuration the published snapshot shows.
	pubProject *model.Project
	stopping   bool            // engine shutting down: start nothing
	problems   []api.Problem   // panics contained in the engine's own work
	traced     []*changeRecord // change traces ended, built into spans after publishing (tracing.go)
}

// New returns an engine; call Run to start it.
func New(cfg Config) *Engine {
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 4
	}
	if cfg.SlowReady <= 0 {
		cfg.SlowReady = DefaultSlowReady
	}
	if cfg.ReadyProbePeriod <= 0 {
		cfg.ReadyProbePeriod = DefaultReadyProbePeriod
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Publish == nil {
		var seq uint64
		cfg.Publish = func(api.Event) uint64 { seq++; return seq }
	}
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "engine", "project", cfg.Project),
		in:      make(chan func(), 64),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		res:     map[string]*res{},
		pubSnap: map[string]*api.Resource{},
	}
	e.snap.Store(&snapshot{head: api.Project{Name: cfg.Project}})
	return e
}

// Run owns the engine's state until ctx ends; then it stops every
// resource's process (waiting for each to exit) and returns.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.done)
	for {
		select {
		case f := <-e.in:
			e.do(f)
		case <-ctx.Done():
			e.shutdown()
			e.removeSecretFiles("") // file secrets live while the project is up
			return nil
		}
	}
}

// do runs one input and settles, on the loop goroutine. A panic in it (a
// bug) is contained: the project reports it, loopd and every other
// project run on, and so does this engine, as well as it can.
// It returns the contained panic, if any.
func (e *Engine) do(f func()) error {
	if p := isolate.Call("the engine", func() { f(); e.settle() }); p != nil {
		e.panicked(p)
		isolate.Call("the engine", e.settle)
		return p
	}
	return nil
}

// panicked records a contained panic as the project's problem. Loop-owned.
func (e *Engine) panicked(p *isolate.Panic) {
	e.log.Error("panic contained", "in", p.What, "panic", p.Value, "stack", string(p.Stack))
	e.problems = append(e.problems, api.Problem{Component: "internal", Since: time.Now(),
		Message: p.Error() + "; the project may be inconsistent: `loop down` and `loop up` start it clean"})
}

// contained runs f, a call into a runtime or a probe from any goroutine,
// and turns a panic in it into its error (logged with the stack): a bug
// there fails one resource, not loopd.
func (e *Engine) contained(what string, f func() error) (err error) {
	if p := isolate.Call(what, func() { err = f() }); p != nil {
		e.log.Error("panic contained", "in", p.What, "panic", p.Value, "stack", string(p.Stack))
		return p
	}
	return err
}

// send runs f on the loop goroutine and reports true, or reports false
// once the engine is shutting down: then f never runs.
func (e *Engine) send(f func()) bool {
	e.sendMu.RLock()
	defer e.sendMu.RUnlock()
	if e.closed {
		return false
	}
	select {
	case e.in <- f:
		return true
	case <-e.quit:
		return false
	}
}

// call runs f on the loop goroutine and waits for it.
func (e *Engine) call(ctx context.Context, f func() error) error {
	errc := make(chan error, 1)
	// settle before replying, so the caller's next Snapshot shows the
	// effect; a panic is the caller's error too (it must not wait forever).
	if !e.send(func() {
		var err error
		if p := e.do(func() { err = f() }); p != nil {
			err = p
		}
		errc <- err
	}) {
		return ErrStopped
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.quit:
		return ErrStopped
	}
}

// ErrStopped is returned by calls made after the engine stopped.
var ErrStopped = fmt.Errorf("engine stopped")

// ErrUnknownResource is returned for a resource name the project lacks.
var ErrUnknownResource = fmt.Errorf("unknown resource")

// Snapshot returns the latest published state. It never blocks.
// The caller must not modify it: it is shared.
func (e *Engine) Snapshot() *api.Project { return e.snap.Load().project() }

// SetProject applies a newly evaluated Loopfile: resources that did not
// change keep running, changed ones restart, removed ones stop, new ones
// start. It also clears a previous Loopfile error.
func (e *Engine) SetProject(ctx context.Context, p *model.Project) error {
	return e.call(ctx, func() error {
		e.apply(p)
		e.loopErr = nil
		return nil
	})
}

// SetLoopfileError records that the Loopfile failed to evaluate; the last
// good configuration keeps running.
func (e *Engine) SetLoopfileError(ctx context.Context, le *api.Error) error {
	return e.call(ctx, func() error {
		e.loopErr = le
		return nil
	})
}

// Up applies a Loopfile for `loop up` and selects names (and what they
// depend on; empty: every resource) as one input, so that no resource
// outside the selection starts in between. A resource `loop down`
// stopped starts again when selected. A name p lacks is
// ErrUnknownResource, and then nothing is applied.
func (e *Engine) Up(ctx context.Context, p *model.Project, names []string) error {
	for _, n := range names {
		if p.Resource(n) == nil {
			return fmt.Errorf("%w %q in project %s", ErrUnknownResource, n, e.cfg.Project)
		}
	}
	return e.call(ctx, func() error {
		e.apply(p)
		e.loopErr = nil
		return e.selectOnly(names)
	})
}

// ChangedAt hands the engine a batch of changed files (absolute paths)
// first seen at `at` (the watcher batch's first event): the resources they
// restart report save-to-live from then.
func (e *Engine) ChangedAt(ctx context.Context, paths []string, at time.Time) error {
	return e.call(ctx, func() error {
		e.changed(paths, at)
		return nil
	})
}

// Trigger runs a resource now (manual trigger, or a re-run of a task).
func (e *Engine) Trigger(ctx context.Context, name string) error {
	return e.call(ctx, func() error { return e.command(name, "triggered", false) })
}

// Restart restarts a resource now: a container's service in place, when
// its runtime can; anything else by stopping and starting it.
func (e *Engine) Restart(ctx context.Context, name string) error {
	return e.call(ctx, func() error { return e.command(name, "restart requested", true) })
}

// Enable re-enables a disabled (or stopped) resource and starts it.
func (e *Engine) Enable(ctx context.Context, name string) error {
	return e.call(ctx, func() error { return e.setDisabled(name, false) })
}

// Disable stops a resource and keeps it stopped until enabled.
func (e *Engine) Disable(ctx context.Context, name string) error {
	return e.call(ctx, func() error { return e.setDisabled(name, true) })
}

// Stop stops a resource, the rest of the project running on (`loop down
// NAME`): it shows as stopped until a `loop up` that selects it, or
// Enable, starts it again.
func (e *Engine) Stop(ctx context.Context, name string) error {
	return e.call(ctx, func() error { return e.setDowned(name) })
}

// shutdown stops every process in parallel and waits for them, and for
// every launch, update and stop already in flight.
func (e *Engine) shutdown() {
	e.stopping = true
	close(e.quit) // wakes senders blocked on a full e.in
	e.sendMu.Lock()
	e.closed = true
	e.sendMu.Unlock()
	// Inputs accepted before that run now, as stopping: a launch that
	// handed over its container has it stopped, one that failed has what
	// it left removed. Later senders clean up after themselves.
	for drained := false; !drained; {
		select {
		case f := <-e.in:
			if p := isolate.Call("the engine", f); p != nil {
				e.panicked(p)
			}
		default:
			drained = true
		}
	}
	var wg sync.WaitGroup
	for _, r := range e.res {
		r.stopTimer()
		r.cancelProbe()
		if r.launchCancel != nil {
			r.launchCancel() // the launch stops what it brought up itself
		}
		if r.handle == nil {
			e.removeLeftover(r)
			continue
		}
		if r.stopping {
			continue
		}
		h, timeout := r.handle, r.spec.StopTimeout
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
			defer cancel()
			if err := e.contained("stop "+r.spec.Name, func() error { return h.Stop(ctx) }); err != nil {
				e.log.Warn("stop on shutdown", "resource", r.spec.Name, "err", err)
			}
		}()
	}
	wg.Wait()
	e.inflight.Wait()
	for _, r := range e.res {
		if r.handle != nil || r.launching {
			r.handle, r.launching = nil, false
			r.setState(api.StateStopped, "loop down")
		}
		r.traceEnd(api.StateStopped, "loop down")
	}
	e.publish()
	e.flushTraces()
	for _, w := range e.waiters {
		w.reply <- e.waitResult(api.OutcomeFailed, w.start)
	}
	e.waiters = nil
}
