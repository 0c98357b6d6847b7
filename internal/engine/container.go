package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/probe"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/watch"
)

// Containers start asynchronously: building an image and creating a
// container take seconds, and the loop goroutine never blocks. While a
// launch is in flight the resource is "launching" (it holds a slot and has
// no handle yet); a stop or a new run request cancels the launch, and the
// handle it returns, if any, is stopped when it arrives.

func (e *Engine) launch(r *res, gen int, why string, spec runtime.Spec) {
	rt := e.runtimeOf(r)
	if rt == nil {
		r.setState(api.StateFailed, fmt.Sprintf("%s resources need a %s runtime, and this loopd has none: run `loop doctor`", r.spec.Kind, r.spec.Kind))
		return
	}
	if r.spec.Container != nil {
		e.logf(r, "starting container (%s): image %s", why, r.spec.Container.Image)
	} else {
		e.logf(r, "applying %d Kubernetes objects (%s)", len(r.spec.Workload.Objects), why)
	}
	ctx, cancel := context.WithCancel(r.traceStepContext("launch"))
	r.launching, r.launchCancel, r.started = true, cancel, time.Now()
	e.slots++
	r.setState(api.StateStarting, "starting ("+why+")")
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		defer cancel()
		var h runtime.Handle
		err := e.contained("start "+spec.Name, func() (err error) { h, err = rt.Start(ctx, spec); return err })
		if e.send(func() { e.launched(r, gen, why, h, err, spec) }) {
			return
		}
		// The engine is shutting down (down, daemon stop) and will not
		// take this result: leave nothing behind.
		if h != nil {
			err = stopHandle(h, spec)
		} else if err != nil {
			err = removeContainer(rt, spec) // a start cut short may have adopted one
		}
		if err != nil {
			e.log.Warn("remove container on shutdown", "resource", spec.Name, "err", err)
		}
	}()
}

// removeContainer removes the container spec names, if the runtime can
// (within a minute).
func removeContainer(rt runtime.Runtime, spec runtime.Spec) error {
	rm, ok := rt.(runtime.Remover)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return rm.Remove(ctx, spec)
}

func (e *Engine) launched(r *res, gen int, why string, h runtime.Handle, err error, spec runtime.Spec) {
	r.launching, r.launchCancel = false, nil
	superseded := gen != r.gen || r.need || !r.active() || e.stopping
	if superseded || err != nil {
		e.slots--
		if err != nil && !superseded {
			r.setState(api.StateFailed, err.Error())
			e.logf(r, "%v", err)
		}
		if h != nil { // superseded while launching: stop what came up; schedule decides
			r.handle, r.phase = h, running
			e.stop(r)
		} else if superseded && (!r.active() || e.stopping) {
			// Cancelled by disable or down while starting: the start may
			// have created (or adopted an exited) container before it was
			// cut short, and nothing else will remove it.
			e.removeLeftover(r)
		}
		return
	}
	e.running(r, gen, why, h, spec) // keeps the slot until ready
}

// update applies changed files to a running container in place: sync, run
// steps, restart in place; a change that needs a rebuild restarts it fully.
func (e *Engine) update(r *res, paths []string, why string) {
	u, ok := r.handle.(runtime.Updater)
	if !ok {
		e.requestRun(r, why)
		return
	}
	if r.updating {
		r.queued = append(r.queued, paths...)
		return
	}
	r.cancelProbe()
	r.updating, r.started = true, time.Now()
	r.setState(api.StateStarting, "updating ("+why+")")
	gen, h := r.gen, r.handle
	ctx := r.traceStepContext("update", attribute.Int("loop.files", len(paths)))
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		err := e.contained("update "+r.spec.Name, func() error { return u.Update(ctx, paths) })
		e.send(func() { e.updated(r, gen, h, err, why) })
	}()
}

// restartInPlace restarts a running container's service without replacing
// the container, and reports whether it could.
func (e *Engine) restartInPlace(r *res, why string) bool {
	rs, ok := r.handle.(runtime.Restarter)
	if !ok || r.stopping || r.updating {
		return false
	}
	r.cancelProbe()
	r.updating, r.started = true, time.Now()
	r.setState(api.StateStarting, "restarting in place ("+why+")")
	e.logf(r, "%s: restarting in place", why)
	gen, h := r.gen, r.handle
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		err := e.contained("restart "+r.spec.Name, func() error { return rs.Restart(context.Background()) })
		e.send(func() {
			if gen != r.gen || r.handle != h || r.stopping {
				return
			}
			if err != nil {
				r.updating = false
				r.setState(api.StateFailed, err.Error())
				e.logf(r, "%v", err)
				return
			}
			e.awaitReady(r, gen, e.readyEnv(r))
		})
	}()
	return true
}

func (e *Engine) updated(r *res, gen int, h runtime.Handle, err error, why string) {
	if gen != r.gen || r.handle != h || r.stopping {
		return // restarted or stopped meanwhile
	}
	r.updating = false
	queued := r.queued
	r.queued = nil
	switch {
	case errors.Is(err, runtime.ErrRebuild):
		e.logf(r, "%s: rebuilding and recreating the container", why)
		e.requestRun(r, why+": rebuild")
		return
	case err != nil:
		r.setState(api.StateFailed, err.Error())
		e.logf(r, "update failed: %v", err)
		return
	}
	if len(queued) > 0 {
		e.update(r, queued, describeChange(e.projectDir(), queued))
		return
	}
	if _, ok := h.(runtime.Watched); ok && r.health.State != runtime.HealthReady {
		e.health(r, gen, r.health, e.readyEnv(r)) // the workload went bad meanwhile
		return
	}
	if !restarts(r.spec.OnChange()) {
		r.setState(api.StateReady, "synced in "+roundDur(time.Since(r.started)))
		e.logf(r, "synced in %s", roundDur(time.Since(r.started)))
		e.watchReady(r, gen)
		return
	}
	e.logf(r, "restarted in place")
	r.traceStep("ready")
	r.updating = true // until ready
	e.awaitReady(r, gen, e.readyEnv(r))
}

// removeLeftover removes the container a resource without a live handle
// left behind (it exited and waits for a crash restart), in the
// background; shutdown waits for it.
func (e *Engine) removeLeftover(r *res) {
	rt := e.runtimeOf(r)
	if _, ok := rt.(runtime.Remover); !ok || !r.spec.Launched() || r.handle != nil || r.launching {
		return
	}
	spec, _ := e.spec(r) // only names the container
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		if err := removeContainer(rt, spec); err != nil {
			e.log.Warn("remove container", "resource", spec.Name, "err", err)
		}
	}()
}

// syncIgnore is what the initial sync of r leaves alone: .git, the
// project's watch_settings ignores and r's own ignore= patterns.
func (e *Engine) syncIgnore(r *res) func(string, bool) bool {
	patterns := append([]string{".git/"}, r.spec.Ignore...)
	if e.project != nil {
		patterns = append(patterns, e.project.Watch.Ignore...)
	}
	m := watch.NewMatcher(e.projectDir(), patterns)
	return m.Match
}

func restarts(steps []model.Step) bool {
	return slices.ContainsFunc(steps, func(s model.Step) bool { return s.Restart })
}

// runtimeOf is the runtime that launches r (a container or a Kubernetes
// workload), or nil when this loopd has none.
func (e *Engine) runtimeOf(r *res) runtime.Runtime {
	if r.spec.Kind == model.KindKube {
		return e.cfg.Kube
	}
	return e.cfg.Containers
}

// checker probes from the host (http, tcp on published ports), or inside
// the container for an exec probe.
func (e *Engine) checker(r *res, env []string) probe.Checker {
	if r.spec.Kind == model.KindContainer && r.spec.Readiness.Kind == model.ProbeExec {
		if x, ok := r.handle.(runtime.Execer); ok {
			return execChecker{x: x, argv: r.spec.Readiness.Cmd, p: r.spec.Readiness}
		}
	}
	return probe.New(r.spec.Readiness, r.spec.Dir, env)
}

type execChecker struct {
	x    runtime.Execer
	argv []string
	p    *model.Probe
}

func (c execChecker) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.p.Timeout)
	defer cancel()
	out := output.NewLines(5, maxTailLine)
	code, err := c.x.Exec(ctx, runtime.ExecSpec{Argv: c.argv, Stdout: out, Stderr: out})
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("exec probe exited %d: %v", code, out.Lines())
	}
	return nil
}

// readyEnv is the env of a container's readiness probe: secrets resolved
// (cached by the resolver since the container started).
func (e *Engine) readyEnv(r *res) []string {
	env, _, err := e.resolveEnv(r)
	if err != nil {
		env = r.spec.Env
	}
	return containerEnv(env)
}

func containerEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// stopHandle stops h, bounded by its stop timeout.
func stopHandle(h runtime.Handle, spec runtime.Spec) error {
	ctx, cancel := context.WithTimeout(context.Background(), spec.StopTimeout+10*time.Second)
	defer cancel()
	return h.Stop(ctx)
}
