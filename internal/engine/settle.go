package engine

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
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
	snap := e.snap.Load()
	res := api.WaitResult{Outcome: outcome, Resources: snap.Resources, Waited: time.Since(start).Round(time.Millisecond).String()}
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

// publish stores a new snapshot and emits an event per changed resource.
func (e *Engine) publish() {
	snap := &api.Project{Name: e.cfg.Project, Error: e.loopErr, Resources: make([]api.Resource, 0, len(e.order)),
		Problems: slices.Clone(e.problems)}
	if e.project != nil {
		snap.Dir, snap.Loopfile, snap.Warnings = e.project.Dir, e.project.Loopfile, e.project.Warnings
		snap.Routes = routesView(e.project.Routes)
	}
	for _, name := range e.order {
		r := e.res[name]
		v := e.view(r)
		snap.Resources = append(snap.Resources, v)
		if old, ok := e.pubSnap[name]; ok && sameView(old, v) {
			continue
		}
		e.pubSnap[name] = v
		vv := v
		e.lastSeq = e.cfg.Publish(api.Event{Time: time.Now(), Kind: api.EventResource, Project: e.cfg.Project, Resource: &vv})
	}
	prev := e.snap.Load()
	if len(prev.Problems) != len(e.problems) {
		e.lastSeq = e.cfg.Publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: e.cfg.Project,
			Message: e.problems[len(e.problems)-1].Message})
	}
	if !sameError(prev.Error, e.loopErr) {
		ev := api.Event{Time: time.Now(), Kind: api.EventProject, Project: e.cfg.Project, Error: e.loopErr, Message: "Loopfile loaded"}
		if e.loopErr != nil {
			ev.Message = "Loopfile error: the last good configuration keeps running"
		}
		e.lastSeq = e.cfg.Publish(ev)
	}
	snap.Seq = e.lastSeq
	e.snap.Store(snap)
}

// routesView is the project's route() declarations as the API shows them.
func routesView(rs []*model.Route) []api.Route {
	if len(rs) == 0 {
		return nil
	}
	out := make([]api.Route, len(rs))
	for i, r := range rs {
		host := strings.ToLower(r.Host)
		if !strings.HasSuffix(host, ".localhost") {
			host += ".localhost"
		}
		out[i] = api.Route{Host: host, Path: r.Path, Resource: r.Resource, Port: r.Port, Timeout: r.Timeout, Declared: r.Pos.String()}
	}
	return out
}

func sameError(a, b *api.Error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

func (e *Engine) view(r *res) api.Resource {
	s := r.spec
	v := api.Resource{
		Name: s.Name, Kind: string(s.Kind), State: r.state, Reason: r.reason, Since: r.since,
		Restarts: r.restarts, LastExit: r.lastExit, Trigger: string(s.Trigger), Pending: r.pending,
		ResourceDeps: s.ResourceDeps, Ports: s.Ports, Labels: s.Labels, Cmd: s.Cmd, Dir: s.Dir,
		Declared: s.Pos.String(), LastRun: r.lastRun, Diagnostics: r.diags, SaveToLive: r.saveToLive,
	}
	if r.handle != nil {
		v.Pid = r.handle.Pid()
		if c, ok := r.handle.(interface{ ContainerID() string }); ok {
			v.Container = c.ContainerID()
		}
	}
	for _, l := range s.Links {
		v.Links = append(v.Links, api.Link{URL: l.URL, Name: l.Name})
	}
	if s.RunsToCompletion() && r.state == api.StateStarting {
		v.Reason = strings.Replace(v.Reason, "starting", "running", 1)
	}
	return v
}

func sameView(a, b api.Resource) bool {
	return a.State == b.State && a.Reason == b.Reason && a.Pid == b.Pid && a.Restarts == b.Restarts &&
		len(a.Diagnostics) == len(b.Diagnostics) && a.Container == b.Container && a.SaveToLive == b.SaveToLive &&
		a.Pending == b.Pending && a.Since.Equal(b.Since) && a.Declared == b.Declared && slices.Equal(a.Labels, b.Labels) &&
		strings.Join(a.Cmd, "\x00") == strings.Join(b.Cmd, "\x00")
}

// maxTailLine bounds one line a tail keeps (lines are up to 64 KiB).
const maxTailLine = 4096

func lastN(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
