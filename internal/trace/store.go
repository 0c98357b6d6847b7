// Package trace keeps recent OpenTelemetry traces in memory for the inner
// loop: the spans services export to loopd's OTLP/HTTP receiver
// (Receiver: protobuf or JSON, gzip, size-limited, partial success), and
// the spans of loopd's own work, recorded through the OTel SDK (Exporter).
//
// A Store holds traces by ID. Each trace is listed under every
// (project, resource) that sent spans of it; each such list keeps the
// newest Limits.PerResource traces, and the whole store at most
// Limits.MaxSpans spans (the oldest traces go first), so memory stays
// bounded whatever services send. Spans are attributed by the resource
// attributes loop injects (loop.project, loop.resource), else by
// service.name.
package trace

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"github.com/loopdev/loop/api"
)

// Limits bound a Store.
type Limits struct {
	PerResource int // traces listed per (project, resource)
	PerTrace    int // spans kept per trace; later ones are counted as dropped
	MaxSpans    int // spans kept in all
}

// DefaultLimits are loopd's.
var DefaultLimits = Limits{PerResource: 200, PerTrace: 2000, MaxSpans: 50_000}

// Store is the in-memory trace store; safe for concurrent use.
type Store struct {
	lim Limits

	mu     sync.Mutex
	traces map[string]*entry // by trace ID
	age    *list.List        // of *entry, oldest first
	lists  map[key][]*entry  // per resource, oldest first
	spans  int               // spans held in all
}

type key struct{ project, resource string }

type entry struct {
	id      string
	spans   []api.Span
	dropped int
	keys    []key // the lists holding it
	elem    *list.Element
}

// NewStore returns an empty store; zero limits take DefaultLimits'.
func NewStore(lim Limits) *Store {
	if lim.PerResource <= 0 {
		lim.PerResource = DefaultLimits.PerResource
	}
	if lim.PerTrace <= 0 {
		lim.PerTrace = DefaultLimits.PerTrace
	}
	if lim.MaxSpans <= 0 {
		lim.MaxSpans = DefaultLimits.MaxSpans
	}
	return &Store{lim: lim, traces: map[string]*entry{}, age: list.New(), lists: map[key][]*entry{}}
}

// Add keeps spans (their TraceID and SpanID set).
func (s *Store) Add(spans []api.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		e := s.traces[sp.TraceID]
		if e == nil {
			e = &entry{id: sp.TraceID}
			e.elem = s.age.PushBack(e)
			s.traces[sp.TraceID] = e
		}
		k := key{sp.Project, sp.Resource}
		if !slices.Contains(e.keys, k) {
			e.keys = append(e.keys, k)
			l := append(s.lists[k], e)
			if len(l) > s.lim.PerResource {
				s.unlist(l[0], k)
				l = slices.Delete(l, 0, 1)
			}
			s.lists[k] = l
		}
		if len(e.spans) >= s.lim.PerTrace {
			e.dropped++
			continue
		}
		e.spans = append(e.spans, sp)
		s.spans++
	}
	for s.spans > s.lim.MaxSpans && s.age.Len() > 1 {
		s.remove(s.age.Front().Value.(*entry))
	}
}

// unlist takes e off k's list (the caller edits the list itself) and
// forgets e once no list holds it.
func (s *Store) unlist(e *entry, k key) {
	e.keys = slices.DeleteFunc(e.keys, func(x key) bool { return x == k })
	if len(e.keys) == 0 {
		s.forget(e)
	}
}

// remove drops e from every list and the store.
func (s *Store) remove(e *entry) {
	for _, k := range e.keys {
		l := slices.DeleteFunc(s.lists[k], func(x *entry) bool { return x == e })
		if len(l) == 0 {
			delete(s.lists, k)
		} else {
			s.lists[k] = l
		}
	}
	e.keys = nil
	s.forget(e)
}

func (s *Store) forget(e *entry) {
	if s.traces[e.id] != e {
		return
	}
	delete(s.traces, e.id)
	s.age.Remove(e.elem)
	s.spans -= len(e.spans)
}

// List summarizes project's traces, newest first: of resource only when
// it is not "", at most limit (0: all kept).
func (s *Store) List(project, resource string, limit int) []api.TraceSummary {
	s.mu.Lock()
	seen := map[*entry]string{}
	for k, l := range s.lists {
		if k.project != project || (resource != "" && k.resource != resource) {
			continue
		}
		for _, e := range l {
			if _, ok := seen[e]; !ok || k.resource < seen[e] {
				seen[e] = k.resource
			}
		}
	}
	out := make([]api.TraceSummary, 0, len(seen))
	for e, res := range seen {
		sum := summarize(e.id, e.spans)
		if resource != "" || sum.Project != project || sum.Resource == "" {
			sum.Resource = res // the root span is another resource's
		}
		sum.Project = project
		out = append(out, sum)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b api.TraceSummary) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return cmpString(a.TraceID, b.TraceID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Get returns the spans kept of trace id, ordered by start time.
func (s *Store) Get(id string) (api.Trace, bool) {
	s.mu.Lock()
	e := s.traces[id]
	if e == nil {
		s.mu.Unlock()
		return api.Trace{}, false
	}
	t := api.Trace{TraceID: id, Spans: slices.Clone(e.spans), Dropped: e.dropped}
	s.mu.Unlock()
	slices.SortStableFunc(t.Spans, func(a, b api.Span) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmpBool(a.ParentID != "", b.ParentID != "") // a root before what starts with it
	})
	return t, true
}

// Len reports how many traces and spans the store holds.
func (s *Store) Len() (traces, spans int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.traces), s.spans
}

// summarize describes a trace: its root span is the one without a
// parent, else (the root has not arrived, or lives elsewhere) the
// earliest.
func summarize(id string, spans []api.Span) api.TraceSummary {
	sum := api.TraceSummary{TraceID: id, Spans: len(spans)}
	var root *api.Span
	var end time.Time
	for i := range spans {
		sp := &spans[i]
		if root == nil || (sp.ParentID == "" && root.ParentID != "") ||
			((sp.ParentID == "") == (root.ParentID == "") && sp.Start.Before(root.Start)) {
			root = sp
		}
		if sum.Start.IsZero() || sp.Start.Before(sum.Start) {
			sum.Start = sp.Start
		}
		if sp.End.After(end) {
			end = sp.End
		}
		if sp.Status == StatusError {
			sum.Error = true
		}
	}
	if root != nil {
		sum.Root, sum.Resource, sum.Project = root.Name, root.Resource, root.Project
	}
	if end.After(sum.Start) {
		sum.Duration = end.Sub(sum.Start)
	}
	return sum
}

// Span status values (api.Span.Status).
const (
	StatusOK    = "ok"
	StatusError = "error"
)
