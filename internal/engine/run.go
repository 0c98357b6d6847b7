package engine

// A resource's run: start, readiness, exit (crash backoff, task outcome)
// and stop. All of it runs on the loop goroutine; the goroutines it starts
// only wait and report back through e.send.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/signame"
)

func (e *Engine) start(r *res) {
	why := r.needWhy
	r.need, r.pending = false, false
	r.gen++
	gen := r.gen
	if !r.spec.Launched() { // containers publish their ports, and k8s forwards listen, themselves
		if err := portsFree(r.spec); err != nil {
			r.setState(api.StateFailed, err.Error())
			e.logf(r, "%v", err)
			return
		}
	}
	r.tail.Reset()
	spec, err := e.spec(r)
	if err != nil {
		r.setState(api.StateFailed, err.Error())
		e.logf(r, "%v", err)
		return
	}
	if r.spec.Launched() {
		e.launch(r, gen, why, spec)
		return
	}
	e.logf(r, "starting (%s): %s", why, strings.Join(r.spec.Cmd, " "))
	var h runtime.Handle
	r.traceStep("start")
	err = e.contained("start "+spec.Name, func() (err error) { h, err = e.cfg.Runtime.Start(context.Background(), spec); return err })
	if err != nil {
		r.setState(api.StateFailed, err.Error())
		e.logf(r, "%v", err)
		return
	}
	r.started = time.Now()
	e.slots++
	e.running(r, gen, why, h, spec)
}

func (e *Engine) spec(r *res) (runtime.Spec, error) {
	sig, _ := signame.StopSignal(r.spec.StopSignal)
	// On error the spec is still complete (with placeholders in its env)
	// for callers that only need to name the resource, e.g. to remove it.
	resEnv, files, err := e.resolveEnv(r)
	if err != nil {
		resEnv = r.spec.Env
	}
	spec := runtime.Spec{
		Name: r.spec.Name, Argv: r.spec.Cmd, Dir: r.spec.Dir,
		Stdout: r.stdout, Stderr: r.stderr, StopSignal: sig, StopTimeout: r.spec.StopTimeout,
	}
	// Every run exports its traces to loopd (Kubernetes pods take their
	// environment from their manifests, and cannot reach loopd). The
	// environment is assembled once, as the kind needs it.
	switch r.spec.Kind {
	case model.KindService, model.KindTask:
		spec.Env = e.env(r, e.withTraceExport(r, resEnv, e.cfg.TraceExport.Process))
	case model.KindContainer:
		spec.Env = containerEnv(e.withTraceExport(r, resEnv, e.cfg.TraceExport.Container))
		spec.Project, spec.ProjectDir, spec.Container, spec.Home = e.cfg.Project, e.projectDir(), r.spec.Container, e.cfg.Home
		spec.Ignore = e.syncIgnore(r)
		spec.Files = files
	case model.KindKube:
		spec.Env = e.env(r, resEnv)
		spec.Project, spec.ProjectDir, spec.Workload, spec.Home = e.cfg.Project, e.projectDir(), r.spec.Workload, e.cfg.Home
		spec.Ignore = e.syncIgnore(r)
		if e.project != nil {
			spec.Cluster = e.project.Cluster
		}
	default:
		spec.Env = e.env(r, resEnv)
	}
	return spec, err
}

// running records a started handle: r is starting until ready.
func (e *Engine) running(r *res, gen int, why string, h runtime.Handle, spec runtime.Spec) {
	r.handle, r.phase = h, starting
	if r.spec.RunsToCompletion() {
		r.setState(api.StateStarting, "running ("+why+")")
		r.traceStep("run")
	} else {
		r.setState(api.StateStarting, "starting ("+why+")")
		r.traceStep("ready")
	}
	go func() {
		<-h.Done()
		e.send(func() { e.exited(r, gen, h.Exit()) })
	}()
	if w, ok := h.(runtime.Watched); ok {
		e.watchHealth(r, gen, w, spec.Env)
		return
	}
	if !r.spec.RunsToCompletion() {
		e.awaitReady(r, gen, spec.Env)
	}
}

func (e *Engine) ready(r *res, gen int) {
	if gen != r.gen || r.handle == nil || r.stopping || r.launching {
		return
	}
	r.cancelProbe()
	if r.phase == starting {
		e.slots--
	}
	r.phase = running
	r.updating = false
	r.lastRun = time.Since(r.started)
	r.setState(api.StateReady, "ready in "+roundDur(r.lastRun))
	e.logf(r, "ready in %s", roundDur(r.lastRun))
	e.watchReady(r, gen)
	e.ranOK(r)
}

// ranOK re-runs the dependants of a task that ran again successfully.
func (e *Engine) ranOK(r *res) {
	first := !r.ran
	r.ran = true
	if first || !r.spec.RunsToCompletion() {
		return
	}
	for _, name := range e.order {
		d := e.res[name]
		if !d.ran || !d.active() || !slices.Contains(d.spec.ResourceDeps, r.spec.Name) {
			continue
		}
		e.logf(d, "dependency %s re-ran: %s", r.spec.Name, map[bool]string{true: "restarting", false: "re-running"}[d.spec.Kind == model.KindService])
		e.requestRun(d, r.spec.Name+" re-ran")
	}
}

func (e *Engine) exited(r *res, gen int, exit runtime.Exit) {
	if gen != r.gen || r.handle == nil || r.stopping {
		return // a stop in flight handles it
	}
	r.cancelProbe()
	r.updating, r.queued = false, nil
	r.handle = nil
	if r.phase == starting {
		e.slots--
	}
	r.phase = idle
	r.lastExit = exit.String()
	ran := time.Since(r.started)
	if r.spec.RunsToCompletion() {
		r.lastRun = ran
		if exit.Success() {
			r.setState(api.StateReady, "succeeded in "+roundDur(ran))
			e.logf(r, "succeeded in %s", roundDur(ran))
			e.ranOK(r)
		} else {
			r.setState(api.StateFailed, exit.String())
			e.logf(r, "failed: %s after %s", exit, roundDur(ran))
		}
		return
	}
	// A service that exits on its own crashed: restart with backoff.
	if ran >= stableUptime || r.backoff == 0 {
		r.backoff = minBackoff
	} else if r.backoff *= 2; r.backoff > maxBackoff {
		r.backoff = maxBackoff
	}
	r.restarts++
	delay := r.backoff
	r.setState(api.StateCrashed, fmt.Sprintf("%s; restarting in %s (crash %d)", exit, roundDur(delay), r.restarts))
	e.logf(r, "%s; restarting in %s", exit, roundDur(delay))
	r.timer = time.AfterFunc(delay, func() {
		e.send(func() {
			if r.timer != nil && r.state == api.StateCrashed {
				r.timer = nil
				r.need, r.needWhy = true, "crash restart"
			}
		})
	})
}

// stop stops r's process in the background and reschedules when it is gone.
func (e *Engine) stop(r *res) {
	r.cancelProbe()
	r.updating, r.queued = false, nil
	r.stopping = true
	h := r.handle
	r.traceStep("stop")
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), r.spec.StopTimeout+10*time.Second)
		defer cancel()
		err := e.contained("stop "+r.spec.Name, func() error { return h.Stop(ctx) })
		e.send(func() { e.stopped(r, h, err) })
	}()
}

func (e *Engine) stopped(r *res, h runtime.Handle, err error) {
	if r.handle != h {
		return
	}
	if err != nil {
		e.logf(r, "stop: %v", err)
	}
	if r.phase == starting {
		e.slots--
	}
	r.handle, r.phase, r.stopping = nil, idle, false
	r.lastExit = h.Exit().String()
	switch {
	case r.removed:
		r.setState(api.StateStopped, "removed from the Loopfile")
	case r.disabled:
		r.setState(api.StateDisabled, r.reason)
	case r.downed:
		r.setState(api.StateStopped, r.reason)
	case r.unselected:
		r.setState(api.StateDisabled, "not selected by `loop up`")
	case !r.need:
		r.setState(api.StateStopped, "stopped")
	default:
		r.traceStep("pending") // until dependencies are ready and a slot is free
	}
}

// roundDur rounds d for a state reason or a log line.
func roundDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}
