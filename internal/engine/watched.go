package engine

// Watched resources (Kubernetes workloads): their runtime reports health
// itself (runtime.Watched), since the cluster, not loop, restarts crashed
// pods. A report moves the resource between starting, ready and crashed;
// a readiness probe of the Loopfile, when given, is checked once the
// runtime says ready. A failing resource gives back its start slot, so a
// crash-looping workload does not hold up the others.

import (
	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/runtime"
)

// watchHealth applies each of w's health reports on the loop goroutine
// until the runtime closes the channel (when the handle is done).
func (e *Engine) watchHealth(r *res, gen int, w runtime.Watched, env []string) {
	ch := w.Health()
	go func() {
		for hs := range ch {
			if !e.send(func() { e.health(r, gen, hs, env) }) {
				return
			}
		}
	}()
}

// health applies one health report of r's current run.
func (e *Engine) health(r *res, gen int, hs runtime.Health, env []string) {
	if gen != r.gen || r.handle == nil || r.stopping {
		return
	}
	r.health = hs
	if r.updating {
		return // the update in flight decides; updated reads r.health
	}
	switch hs.State {
	case runtime.HealthReady:
		if r.state == api.StateReady || r.state == api.StateUnresponsive {
			return
		}
		if r.spec.Readiness != nil {
			e.awaitReady(r, gen, env)
			return
		}
		e.ready(r, gen)
	case runtime.HealthStarting:
		r.cancelProbe()
		if r.state != api.StateStarting || r.reason != hs.Reason {
			r.setState(api.StateStarting, hs.Reason)
		}
	case runtime.HealthFailing:
		r.cancelProbe()
		if r.phase == starting {
			e.slots--
			r.phase = running
		}
		if r.state != api.StateCrashed || r.reason != hs.Reason {
			r.setState(api.StateCrashed, hs.Reason)
			e.logf(r, "%s", hs.Reason)
		}
	}
}
