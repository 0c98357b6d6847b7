package trace

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func span(trace, id, parent, project, resource string, start, dur time.Duration) api.Span {
	return api.Span{TraceID: trace, SpanID: id, ParentID: parent, Name: "op-" + id, Project: project, Resource: resource,
		Start: t0.Add(start), End: t0.Add(start + dur)}
}

func TestStore_ListAndGet(t *testing.T) {
	s := NewStore(Limits{})
	s.Add([]api.Span{
		span("t1", "b", "a", "p", "api", 2*time.Millisecond, 3*time.Millisecond),
		span("t1", "a", "", "p", "api", 0, 10*time.Millisecond),
		span("t1", "c", "b", "p", "db", 3*time.Millisecond, time.Millisecond),
		span("t2", "x", "", "p", "web", time.Second, time.Millisecond),
		span("t3", "y", "", "other", "api", time.Second, time.Millisecond),
	})
	s.Add([]api.Span{{TraceID: "t2", SpanID: "z", ParentID: "x", Project: "p", Resource: "web", Status: StatusError, Start: t0.Add(time.Second), End: t0.Add(time.Second)}})

	all := s.List("p", "", 0)
	if len(all) != 2 || all[0].TraceID != "t2" || all[1].TraceID != "t1" {
		t.Fatalf("List(p) = %+v, want t2 then t1", all)
	}
	if got := all[1]; got.Root != "op-a" || got.Resource != "api" || got.Spans != 3 || got.Duration != 10*time.Millisecond || !got.Start.Equal(t0) || got.Error {
		t.Errorf("summary of t1 = %+v", got)
	}
	if !all[0].Error {
		t.Errorf("t2 has an error span, summary says no: %+v", all[0])
	}
	db := s.List("p", "db", 0)
	if len(db) != 1 || db[0].TraceID != "t1" || db[0].Resource != "db" || db[0].Root != "op-a" {
		t.Errorf("List(p, db) = %+v, want t1 listed under db", db)
	}
	if got := s.List("p", "", 1); len(got) != 1 {
		t.Errorf("limit 1: got %d", len(got))
	}
	tr, ok := s.Get("t1")
	if !ok || len(tr.Spans) != 3 || tr.Spans[0].SpanID != "a" || tr.Spans[2].SpanID != "c" {
		t.Fatalf("Get(t1) = %+v, %v", tr, ok)
	}
	if _, ok := s.Get("nope"); ok {
		t.Error("Get of an unknown trace found one")
	}
}

func TestStore_Limits(t *testing.T) {
	s := NewStore(Limits{PerResource: 3, PerTrace: 2, MaxSpans: 10})
	for i := range 5 {
		s.Add([]api.Span{span(fmt.Sprint("t", i), "a", "", "p", "api", time.Duration(i)*time.Second, time.Millisecond)})
	}
	if got := s.List("p", "api", 0); len(got) != 3 || got[0].TraceID != "t4" || got[2].TraceID != "t2" {
		t.Errorf("per-resource limit 3: got %+v", got)
	}
	if traces, spans := s.Len(); traces != 3 || spans != 3 {
		t.Errorf("Len = %d traces, %d spans; want the evicted traces gone (3, 3)", traces, spans)
	}
	// A trace listed under two resources stays while one of them lists it.
	s.Add([]api.Span{span("t2", "b", "a", "p", "db", 0, 0)})
	for i := 5; i < 8; i++ {
		s.Add([]api.Span{span(fmt.Sprint("t", i), "a", "", "p", "api", time.Duration(i)*time.Second, time.Millisecond)})
	}
	if _, ok := s.Get("t2"); !ok {
		t.Error("t2, still listed under db, was forgotten")
	}
	// Per trace: later spans are counted, not kept.
	s.Add([]api.Span{span("big", "1", "", "p", "x", 0, 0), span("big", "2", "1", "p", "x", 0, 0), span("big", "3", "1", "p", "x", 0, 0)})
	if tr, _ := s.Get("big"); len(tr.Spans) != 2 || tr.Dropped != 1 {
		t.Errorf("per-trace limit 2: %d spans, %d dropped", len(tr.Spans), tr.Dropped)
	}
	// In all: the oldest traces go.
	for i := range 20 {
		s.Add([]api.Span{span(fmt.Sprint("g", i), "a", "", "q", fmt.Sprint("r", i), 0, 0)})
	}
	if _, spans := s.Len(); spans > 10 {
		t.Errorf("%d spans held, limit 10", spans)
	}
	if _, ok := s.Get("g19"); !ok {
		t.Error("the newest trace was evicted")
	}
	if _, ok := s.Get("t2"); ok {
		t.Error("the oldest trace survived the global limit")
	}
}

func BenchmarkStore_Add(b *testing.B) {
	s := NewStore(Limits{})
	spans := make([]api.Span, 10)
	for i := range spans {
		spans[i] = span("", fmt.Sprint(i), "", "p", "api", 0, time.Millisecond)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint(i)
		for j := range spans {
			spans[j].TraceID = id
		}
		s.Add(spans)
	}
}

func TestWriteTree(t *testing.T) {
	s := NewStore(Limits{})
	child := span("t1", "b", "a", "p", "db", 2*time.Millisecond, 3*time.Millisecond)
	child.Status, child.Message = StatusError, "boom"
	child.Attributes = map[string]string{"db.system": "sqlite"}
	child.Events = []api.SpanEvent{{Name: "exception", Time: t0.Add(3 * time.Millisecond), Attributes: map[string]string{"exception.message": "boom"}}}
	s.Add([]api.Span{child, span("t1", "a", "", "p", "api", 0, 10*time.Millisecond), span("t1", "o", "gone", "p", "api", time.Millisecond, time.Millisecond)})
	tr, _ := s.Get("t1")
	var b strings.Builder
	WriteTree(&b, tr)
	want := `trace t1: 3 spans, 10ms, from ` + t0.Local().Format("15:04:05.000") + `
op-a  10ms  +0s  [api]
  op-b  3ms  +2ms  [db]  ERROR: boom  db.system=sqlite
    · exception +3ms exception.message=boom
op-o  1ms  +1ms  [api]
`
	if got := b.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}
