package engine

// Publishing: after each input the engine publishes an immutable
// snapshot and one event per resource whose visible state changed. Both
// cost what changed, not the size of the project: a resource's view is
// rebuilt only when what it shows changed (viewKey), the snapshot shares
// the unchanged views with the one before, and the api.Project readers
// want is assembled once per snapshot, on the first read.

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
)

// snapshot is one published state of the project; immutable.
type snapshot struct {
	head api.Project     // everything but Resources
	res  []*api.Resource // in Loopfile order; shared with other snapshots, never written

	once sync.Once
	full *api.Project
}

// project is the snapshot as the API shows it, built on the first call.
func (s *snapshot) project() *api.Project {
	s.once.Do(func() {
		p := s.head
		p.Resources = make([]api.Resource, len(s.res))
		for i, r := range s.res {
			p.Resources[i] = *r
		}
		s.full = &p
	})
	return s.full
}

// viewKey is what a resource's view is made of; while it stays equal,
// so does the view. It holds no allocation: comparing it is cheap.
type viewKey struct {
	spec       *model.Resource // name, kind, trigger, deps, ports, labels, cmd, dir, position, links
	state      string
	reason     string
	since      time.Time
	restarts   int
	lastExit   string
	pending    bool
	lastRun    time.Duration
	saveToLive time.Duration
	diags      *api.Diagnostic // the slice's array: a new diagnosis is a new slice
	nDiags     int
	pid        int
	container  string
}

func (e *Engine) viewKey(r *res) viewKey {
	k := viewKey{spec: r.spec, state: r.state, reason: r.reason, since: r.since, restarts: r.restarts,
		lastExit: r.lastExit, pending: r.pending, lastRun: r.lastRun, saveToLive: r.saveToLive,
		diags: unsafe.SliceData(r.diags), nDiags: len(r.diags)}
	if r.handle != nil {
		k.pid = r.handle.Pid()
		if c, ok := r.handle.(interface{ ContainerID() string }); ok {
			k.container = c.ContainerID()
		}
	}
	return k
}

// publish stores a new snapshot, when anything changed, and emits an
// event per resource whose visible state changed.
func (e *Engine) publish() {
	prev := e.snap.Load()
	changed := len(prev.res) != len(e.order)
	for i, name := range e.order {
		r := e.res[name]
		k := e.viewKey(r)
		if r.view != nil && k == r.viewKey {
			changed = changed || prev.res[i] != r.view
			continue
		}
		v := e.view(r)
		r.view, r.viewKey, changed = &v, k, true
		if old, ok := e.pubSnap[name]; ok && sameView(*old, v) {
			continue
		}
		e.pubSnap[name] = r.view
		e.lastSeq = e.cfg.Publish(api.Event{Time: time.Now(), Kind: api.EventResource, Project: e.cfg.Project, Resource: r.view})
	}
	head := prev.head
	if len(prev.head.Problems) != len(e.problems) {
		e.lastSeq = e.cfg.Publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: e.cfg.Project,
			Message: e.problems[len(e.problems)-1].Message})
		head.Problems, changed = slices.Clone(e.problems), true
	}
	if !sameError(prev.head.Error, e.loopErr) {
		ev := api.Event{Time: time.Now(), Kind: api.EventProject, Project: e.cfg.Project, Error: e.loopErr, Message: "Loopfile loaded"}
		if e.loopErr != nil {
			ev.Message = "Loopfile error: the last good configuration keeps running"
		}
		e.lastSeq = e.cfg.Publish(ev)
		changed = true
	}
	head.Error = e.loopErr
	if e.project != e.pubProject {
		e.pubProject, changed = e.project, true
		head.Dir, head.Loopfile, head.Warnings, head.Routes = "", "", nil, nil
		if e.project != nil {
			head.Dir, head.Loopfile, head.Warnings = e.project.Dir, e.project.Loopfile, e.project.Warnings
			head.Routes = routesView(e.project.Routes)
		}
	}
	if !changed {
		return
	}
	head.Seq = e.lastSeq
	snap := &snapshot{head: head, res: make([]*api.Resource, len(e.order))}
	for i, name := range e.order {
		snap.res[i] = e.res[name].view
	}
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

// view is r as the API shows it; viewKey lists what it is made of.
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

// sameView reports whether b shows nothing new to a client that saw a:
// no event then (a change of LastRun or LastExit alone is in the next
// snapshot, and in the event of the state change that comes with it).
func sameView(a, b api.Resource) bool {
	return a.State == b.State && a.Reason == b.Reason && a.Pid == b.Pid && a.Restarts == b.Restarts &&
		len(a.Diagnostics) == len(b.Diagnostics) && a.Container == b.Container && a.SaveToLive == b.SaveToLive &&
		a.Pending == b.Pending && a.Since.Equal(b.Since) && a.Declared == b.Declared && slices.Equal(a.Labels, b.Labels) &&
		strings.Join(a.Cmd, "\x00") == strings.Join(b.Cmd, "\x00")
}
