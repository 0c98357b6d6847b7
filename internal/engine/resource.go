package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/diag"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/probe"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/watch"
)

type phase int

const (
	idle     phase = iota // no process
	starting              // process started, not yet ready (a task: running); holds a slot
	running               // ready service (or a task that finished: handle is nil then)
)

// res is the engine's private state of one resource; loop-owned.
type res struct {
	spec    *model.Resource
	ignore  *watch.Matcher
	state   string
	reason  string
	since   time.Time
	gen     int // bumped on every start; async results carry it
	phase   phase
	handle  runtime.Handle
	started time.Time // when the current run started
	ran     bool      // has run at least once (so dependants re-run after it)

	need       bool   // wants a (re)start/run as soon as deps and a slot allow
	needWhy    string // why it needs to run ("main.go changed")
	stopping   bool   // a stop is in flight
	disabled   bool
	unselected bool // not part of `loop up NAMES`
	// downed: stopped by `loop down NAME` or `loop down -l LABEL` (the
	// project stays up); the next `loop up` that selects it, or `loop
	// enable`, starts it again.
	downed  bool
	removed bool // gone from the Loopfile; dropped once stopped
	pending bool // manual trigger: changes are waiting for `loop trigger`

	launching    bool               // a container Start is in flight (no handle yet)
	launchCancel context.CancelFunc //
	updating     bool               // an in-place update (or its readiness) is in flight
	queued       []string           // changes that arrived during an update

	restarts    int
	backoff     time.Duration
	timer       *time.Timer // crash restart backoff
	lastExit    string
	lastRun     time.Duration
	probeCancel context.CancelFunc // ends the readiness probe's goroutine (start-up poll or the watch of a ready service)
	probeDone   <-chan struct{}    // closed when that goroutine has returned
	checker     probe.Checker      // the current run's readiness probe; nil without one
	tail        *output.Lines
	diags       []api.Diagnostic // from the last failed run's output; nil once ready
	health      runtime.Health   // a watched run's last health report (runtime.Watched)
	changeAt    time.Time        // first file change not yet live (zero: none)
	saveToLive  time.Duration    // the last change's file event -> ready
	trace       changeTrace      // loopd's trace of the change in progress (tracing.go)
	stdout      io.Writer
	stderr      io.Writer
	loopLog     io.Writer

	view    *api.Resource // as the last snapshot shows it (snapshot.go); never modified
	viewKey viewKey       // what view was made of
}

func (r *res) setState(state, reason string) {
	if r.state != state {
		r.since = time.Now()
	}
	r.state, r.reason = state, reason
	switch state {
	case api.StateReady:
		r.diags = nil
		if !r.changeAt.IsZero() {
			r.saveToLive, r.changeAt = time.Since(r.changeAt), time.Time{}
		}
	case api.StateFailed, api.StateCrashed:
		r.diags = r.diagnose()
	case api.StateUnresponsive:
		r.diags = []api.Diagnostic{r.unresponsiveDiagnostic()}
	}
	r.traceEnd(state, reason)
}

// markChange records when the first change not yet live was seen: the
// next ready reports save-to-live from there.
func (r *res) markChange(at time.Time) {
	if r.changeAt.IsZero() {
		r.changeAt = at
	}
}

// unresponsiveDiagnostic is a warning at r's declaration, so editors and
// `loop errors` show that it stopped answering.
func (r *res) unresponsiveDiagnostic() api.Diagnostic {
	return api.Diagnostic{
		Resource: r.spec.Name, File: r.spec.Pos.File, Line: r.spec.Pos.Line, Col: r.spec.Pos.Col,
		Severity: "warning", Source: "loop", Message: r.spec.Name + " is unresponsive: " + r.reason,
	}
}

// diagnose finds diagnostics in the output of the run that just failed,
// with container paths mapped back to host paths.
func (r *res) diagnose() []api.Diagnostic {
	var rules []model.SyncRule
	if r.spec.Container != nil {
		rules = r.spec.Container.Sync
	} else if r.spec.Workload != nil {
		rules = r.spec.Workload.Sync
	}
	ds := diag.Resolve(diag.Parse(r.tail.Lines()), r.spec.Dir, rules)
	for i := range ds {
		ds[i].Resource = r.spec.Name
	}
	return ds
}

func (r *res) cancelProbe() {
	if r.probeCancel != nil {
		r.probeCancel()
		r.probeCancel = nil
	}
}

func (r *res) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

func (r *res) active() bool { return !r.disabled && !r.unselected && !r.downed && !r.removed }

func (e *Engine) newRes(spec *model.Resource) *res {
	r := &res{spec: spec, tail: output.NewLines(tailLines, maxTailLine)}
	r.ignore = watch.NewMatcher(e.projectDir(), spec.Ignore)
	// The tail (diagnostics, error reports) gets the lines as the log
	// stores them: redacted as a stream, so a value split across writes
	// or line cuts reaches neither.
	r.stdout = e.cfg.Logs.TeeWriter(spec.Name, "stdout", r.tail.Add)
	r.stderr = e.cfg.Logs.TeeWriter(spec.Name, "stderr", r.tail.Add)
	r.loopLog = e.cfg.Logs.TeeWriter(spec.Name, "loop", nil)
	r.setState(api.StatePending, "")
	if spec.AutoStart {
		r.need, r.needWhy = true, "initial start"
	} else {
		r.setState(api.StatePending, fmt.Sprintf("not started (auto_start=False): run `loop trigger %s`", spec.Name))
	}
	return r
}

func (e *Engine) projectDir() string {
	if e.project == nil {
		return ""
	}
	return e.project.Dir
}

func (e *Engine) logf(r *res, format string, args ...any) {
	fmt.Fprintf(r.loopLog, format+"\n", args...)
}

// apply diffs a new project against the running one.
func (e *Engine) apply(p *model.Project) {
	old := e.res
	e.project = p
	e.res = map[string]*res{}
	e.order = e.order[:0]
	for _, spec := range p.Resources {
		e.order = append(e.order, spec.Name)
		r, ok := old[spec.Name]
		if !ok || r.removed {
			e.res[spec.Name] = e.newRes(spec)
			continue
		}
		delete(old, spec.Name)
		e.res[spec.Name] = r
		same := r.spec.Equal(spec)
		r.spec = spec
		r.ignore = watch.NewMatcher(p.Dir, spec.Ignore)
		if same {
			continue
		}
		e.logf(r, "configuration changed in the Loopfile")
		if spec.AutoStart || r.ran {
			e.requestRun(r, "configuration changed")
		}
	}
	for name, r := range old {
		// Removed from the Loopfile: stop it, keep it visible until stopped.
		r.removed = true
		r.need = false
		r.stopTimer()
		e.removeSecretFiles(name)
		e.res[name] = r
		e.order = append(e.order, name)
		if r.handle != nil {
			e.logf(r, "removed from the Loopfile: stopping")
			e.stop(r)
		} else {
			e.removeLeftover(r)
			r.setState(api.StateStopped, "removed from the Loopfile")
		}
	}
}

func (e *Engine) lookup(name string) (*res, error) {
	r, ok := e.res[name]
	if !ok || r.removed {
		return nil, fmt.Errorf("%w %q in project %s", ErrUnknownResource, name, e.cfg.Project)
	}
	return r, nil
}

func (e *Engine) selectOnly(names []string) error {
	want := map[string]bool{}
	var add func(string) error
	add = func(n string) error {
		if want[n] {
			return nil
		}
		r, err := e.lookup(n)
		if err != nil {
			return err
		}
		want[n] = true
		for _, d := range r.spec.ResourceDeps {
			if err := add(d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(n); err != nil {
			return err
		}
	}
	for name, r := range e.res {
		un := len(names) > 0 && !want[name]
		// A `loop up` that selects a resource `loop down` stopped starts
		// it again, as `docker compose up` does a stopped service.
		wake := !un && r.downed
		if un == r.unselected && !wake {
			continue
		}
		r.unselected, r.downed = un, false
		if un {
			e.halt(r)
			r.setState(api.StateDisabled, "not selected by `loop up`")
		} else {
			e.resume(r, "selected by `loop up`")
		}
	}
	return nil
}

// halt stops r's process (or a start in flight, or the container it left)
// and cancels whatever it was about to do; the caller sets why.
func (e *Engine) halt(r *res) {
	r.need = false
	r.stopTimer()
	if r.launchCancel != nil {
		r.launchCancel()
	}
	if r.handle != nil {
		e.stop(r)
	} else {
		e.removeLeftover(r)
	}
}

// resume starts r again once it is active again (enabled, selected): at
// once, or, with auto_start=False, when it is triggered.
func (e *Engine) resume(r *res, why string) {
	if r.disabled {
		r.setState(api.StateDisabled, disabledReason(r.spec.Name))
		return
	}
	if !r.active() {
		return
	}
	if r.spec.AutoStart || r.ran {
		e.requestRun(r, why)
		return
	}
	r.setState(api.StatePending, fmt.Sprintf("not started (auto_start=False): run `loop trigger %s`", r.spec.Name))
}

func (e *Engine) command(name, why string, restart bool) error {
	r, err := e.lookup(name)
	if err != nil {
		return err
	}
	switch {
	case r.downed:
		return fmt.Errorf("%s is stopped (loop down): run `loop up` or `loop enable %s` to start it", name, name)
	case r.disabled || r.unselected:
		return fmt.Errorf("%s is disabled: run `loop enable %s` first", name, name)
	}
	r.pending = false
	if restart && e.restartInPlace(r, why) {
		return nil
	}
	e.requestRun(r, why)
	return nil
}

func (e *Engine) setDisabled(name string, off bool) error {
	r, err := e.lookup(name)
	if err != nil {
		return err
	}
	if off {
		if r.disabled {
			return nil
		}
		r.disabled = true
		e.halt(r)
		r.setState(api.StateDisabled, disabledReason(name))
		e.logf(r, "disabled")
		return nil
	}
	if !r.disabled && !r.downed {
		return nil
	}
	r.disabled, r.downed = false, false
	e.logf(r, "enabled")
	e.requestRun(r, "enabled")
	return nil
}

func disabledReason(name string) string {
	return "disabled: run `loop enable " + name + "` to start it again"
}

// setDowned stops r and keeps it stopped, the project running on: what
// `loop down NAME` and `loop down -l LABEL` do (`docker compose stop`).
// A resource that does not run already (disabled, not selected) stays as
// it is.
func (e *Engine) setDowned(name string) error {
	r, err := e.lookup(name)
	if err != nil {
		return err
	}
	if !r.active() {
		return nil
	}
	r.downed = true
	r.pending = false
	e.halt(r)
	r.setState(api.StateStopped, "stopped by `loop down`: `loop up` or `loop enable "+name+"` starts it again")
	e.logf(r, "stopped (loop down)")
	return nil
}

// requestRun marks r to run again and stops what runs now.
func (e *Engine) requestRun(r *res, why string) {
	if !r.active() {
		return
	}
	r.stopTimer()
	r.need, r.needWhy = true, why
	if r.launchCancel != nil {
		r.launchCancel() // what it brings up is stopped on arrival
	}
	if r.handle != nil && !r.stopping {
		e.stop(r)
	}
}

// changed maps changed paths to the resources that watch them.
func (e *Engine) changed(paths []string, at time.Time) {
	if e.project == nil {
		return
	}
	config := map[string]bool{}
	for _, f := range e.project.Files {
		config[f] = true
	}
	for _, name := range e.order {
		r := e.res[name]
		if !r.active() {
			continue
		}
		var hit []string
		for _, p := range paths {
			if !config[p] && e.affects(r, p) {
				hit = append(hit, p)
			}
		}
		if len(hit) == 0 {
			continue
		}
		why := describeChange(e.project.Dir, hit)
		switch {
		case r.spec.Trigger == model.TriggerManual:
			r.pending = true
			e.logf(r, "%s: waiting for `loop trigger %s`", why, name)
		case r.spec.Kind == model.KindService && r.spec.Restart == model.RestartNever:
			e.logf(r, "%s (restart=\"never\": not restarting)", why)
		case r.spec.Launched() && r.handle != nil && !r.stopping:
			r.markChange(at)
			e.traceChange(r, at, why, len(hit))
			e.update(r, hit, why)
		default:
			r.markChange(at)
			e.traceChange(r, at, why, len(hit))
			verb := "restarting"
			if r.spec.RunsToCompletion() {
				verb = "re-running"
			}
			e.logf(r, "%s: %s", why, verb)
			e.requestRun(r, why)
		}
	}
}

func (e *Engine) affects(r *res, path string) bool {
	for _, d := range r.spec.Deps {
		if path == d || strings.HasPrefix(path, d+string(filepath.Separator)) || d == "/" {
			return !r.ignore.Match(path, false)
		}
	}
	return false
}

func describeChange(root string, paths []string) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	if len(paths) == 1 {
		return rel(paths[0]) + " changed"
	}
	return fmt.Sprintf("%d files changed (%s, ...)", len(paths), rel(paths[0]))
}

// schedule starts every resource that needs to run and may.
func (e *Engine) schedule() {
	if e.stopping {
		return
	}
	for _, name := range e.order {
		r := e.res[name]
		if !r.need || !r.active() || r.handle != nil || r.stopping || r.launching {
			continue
		}
		if wait := e.waitingOn(r); wait != "" {
			r.setState(api.StatePending, wait)
			continue
		}
		if e.slots >= e.cfg.Parallelism {
			r.setState(api.StatePending, fmt.Sprintf("waiting for a free slot (%d resources starting)", e.slots))
			continue
		}
		e.start(r)
	}
}

// waitingOn says which dependency holds r back, or "".
func (e *Engine) waitingOn(r *res) string {
	for _, d := range r.spec.ResourceDeps {
		dep, ok := e.res[d]
		if !ok || dep.removed {
			return "waiting for " + d + " (not declared)"
		}
		if dep.state == api.StateReady && !dep.need {
			continue
		}
		switch {
		case dep.downed:
			return "waiting for " + d + " (stopped by `loop down`)"
		case dep.disabled || dep.unselected:
			return "waiting for " + d + " (disabled)"
		case dep.state == api.StateFailed || dep.state == api.StateCrashed || dep.state == api.StateUnresponsive:
			return "waiting for " + d + " (" + dep.state + ")"
		}
		return "waiting for " + d
	}
	return ""
}
