package engine

import (
	"context"
	"time"

	"github.com/loopdev/loop/api"
)

// settle runs after every input: reconcile, publish, answer waiters.
func (e *Engine) settle() {
	e.schedule()
	e.dropRemoved()
	e.publish()
	e.flushTraces() // off the restart's path: the new state is out
	if len(e.waiters) == 0 || e.busy() {
		return
	}
	outcome := e.outcome()
	for _, w := range e.waiters {
		w.reply <- e.waitResult(outcome, w.start)
	}
	e.waiters = nil
}

func (e *Engine) dropRemoved() {
	kept := e.order[:0]
	for _, name := range e.order {
		r := e.res[name]
		if r.removed && r.handle == nil {
			delete(e.res, name)
			delete(e.pubSnap, name)
			continue
		}
		kept = append(kept, name)
	}
	e.order = kept
}

// busy reports whether some resource is still on its way somewhere.
func (e *Engine) busy() bool {
	for _, r := range e.res {
		if r.stopping || r.phase == starting || r.launching || r.updating {
			return true
		}
		if r.need && r.active() && !e.blocked(r, 0) {
			return true
		}
	}
	return false
}

// blocked reports whether r cannot start because a dependency failed, is
// disabled or is itself blocked: waiting longer changes nothing.
func (e *Engine) blocked(r *res, depth int) bool {
	if depth > len(e.res) {
		return true
	}
	for _, d := range r.spec.ResourceDeps {
		dep, ok := e.res[d]
		if !ok || dep.removed || !dep.active() {
			return true
		}
		if dep.state == api.StateReady && !dep.need {
			continue
		}
		if stuck(dep.state) && !dep.need && !dep.stopping && dep.phase != starting {
			return true
		}
		if dep.need && e.blocked(dep, depth+1) {
			return true
		}
	}
	return false
}

// stuck reports whether a resource in state stays there until something
// changes: failed, crashed (waiting for its backoff), or unresponsive.
func stuck(state string) bool {
	return state == api.StateFailed || state == api.StateCrashed || state == api.StateUnresponsive
}

// outcome of a settled project: ready if every active resource is ready;
// failed otherwise (failed, crashed, unresponsive, blocked behind one of
// those, or a broken Loopfile).
func (e *Engine) outcome() string {
	if e.loopErr != nil {
		return api.OutcomeFailed
	}
	for _, r := range e.res {
		if !r.active() {
			continue
		}
		switch r.state {
		case api.StateReady:
		case api.StatePending:
			if r.need { // blocked by a failed dependency
				return api.OutcomeFailed
			}
		default:
			return api.OutcomeFailed
		}
	}
	return api.OutcomeReady
}

type waiter struct {
	start time.Time
	reply chan api.WaitResult
}

// Wait blocks until no resource is on its way anywhere — every resource
// affected by the inputs received so far is ready or has failed — or ctx
// ends, and reports the outcome with the errors.
func (e *Engine) Wait(ctx context.Context) (api.WaitResult, error) {
	w := &waiter{start: time.Now(), reply: make(chan api.WaitResult, 1)}
	if !e.send(func() { e.waiters = append(e.waiters, w) }) {
		return api.WaitResult{}, ErrStopped
	}
	select {
	case res := <-w.reply:
		return res, nil
	case <-ctx.Done():
		res := api.WaitResult{Outcome: api.OutcomeTimeout, Waited: time.Since(w.start).Round(time.Millisecond).String()}
		snap := e.Snapshot()
		res.Resources = snap.Resources
		for _, r := range snap.Resources {
			if r.State != api.StateReady && r.State != api.StateDisabled {
				res.Errors = append(res.Errors, api.Error{Resource: r.Name, Message: r.State + ": " + r.Reason})
				res.Diagnostics = append(res.Diagnostics, r.Diagnostics...)
			}
		}
		return res, nil
	case <-e.quit:
		return api.WaitResult{}, ErrStopped
	}
}

func (e *Engine) waitResult(outcome string, start time.Time) api.WaitResult {
	res := api.WaitResult{Outcome: outcome, Resources: e.Snapshot().Resources, Waited: time.Since(start).Round(time.Millisecond).String()}
	if e.loopErr != nil {
		res.Errors = append(res.Errors, *e.loopErr)
	}
	for _, name := range e.order {
		r := e.res[name]
		if !r.active() || r.state == api.StateReady || (r.state == api.StatePending && !r.need) {
			continue
		}
		res.Errors = append(res.Errors, api.Error{
			Resource: name,
			File:     r.spec.Pos.File, Line: r.spec.Pos.Line, Col: r.spec.Pos.Col,
			Message: r.state + ": " + r.reason,
			Log:     lastN(r.tail.Lines(), reportLines),
		})
		res.Diagnostics = append(res.Diagnostics, r.diags...)
	}
	return res
}

// maxTailLine bounds one line a tail keeps (lines are up to 64 KiB).
const maxTailLine = 4096

func lastN(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
