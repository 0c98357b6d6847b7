package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/trace"
)

// A file change that restarts a process service is one trace of loopd's
// own work, under that resource: save-to-live, from the first file event,
// with watch, stop, start and ready in order, ending when it is ready.
func TestEngine_ChangeTrace(t *testing.T) {
	store := trace.NewStore(trace.Limits{})
	tp := trace.NewProvider(store)
	h := newHarnessWith(t, func(c *Config) { c.Tracer = tp.Tracer("test") })
	h.set(h.service("api", "exec sleep 1000"), h.service("other", "exec sleep 1000"))
	h.wait()
	if got := store.List("test", "", 0); len(got) != 0 {
		t.Fatalf("traces before any change: %+v", got)
	}
	src := filepath.Join(h.dir, "api", "main.go")
	os.MkdirAll(filepath.Dir(src), 0o755)
	os.WriteFile(src, []byte("package main"), 0o644)
	at := time.Now().Add(-20 * time.Millisecond) // the watcher's first event, before the batch
	if err := h.e.ChangedAt(context.Background(), []string{src}, at); err != nil {
		t.Fatal(err)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("wait: %+v", res)
	}
	ts := store.List("test", "", 0)
	if len(ts) != 1 || ts[0].Resource != "api" || ts[0].Root != "save-to-live" || !ts[0].Start.Equal(at) || ts[0].Error {
		t.Fatalf("traces = %+v; want one save-to-live of api from the first event", ts)
	}
	tr, _ := store.Get(ts[0].TraceID)
	var names []string
	for _, s := range tr.Spans {
		names = append(names, s.Name)
		if s.Service != trace.Service || s.Resource != "api" || s.Project != "test" {
			t.Errorf("span %s attributed to %s/%s of %s", s.Name, s.Project, s.Resource, s.Service)
		}
	}
	want := []string{"save-to-live", "watch", "stop", "pending", "start", "ready"}
	if !slices.Equal(names, want) {
		t.Errorf("spans = %v, want %v", names, want)
	}
	if root := tr.Spans[0]; root.Attributes["loop.change"] != "api/main.go changed" || root.Attributes["loop.outcome"] != api.StateReady {
		t.Errorf("root attributes = %v", root.Attributes)
	}
	if got := store.List("test", "other", 0); len(got) != 0 {
		t.Errorf("the change traced other too: %+v", got)
	}
}

// BenchmarkEngine_traceChange is what tracing one change costs the
// restart's path: the root, the watch span and four steps recorded, the
// trace ended (its spans are built afterwards: BenchmarkEngine_traceFlush).
func BenchmarkEngine_traceChange(b *testing.B) {
	store := trace.NewStore(trace.Limits{})
	e := &Engine{cfg: Config{Project: "p", Tracer: trace.NewProvider(store).Tracer("bench")}}
	r := &res{spec: h0.service("api", "true")}
	b.ReportAllocs()
	for b.Loop() {
		e.traceChange(r, time.Now(), "main.go changed", 1)
		for _, s := range []string{"stop", "pending", "start", "ready"} {
			r.traceStep(s)
		}
		r.traceEnd(api.StateReady, "")
		e.traced = e.traced[:0]
	}
}

// BenchmarkEngine_traceFlush is building the spans of one traced change
// into the store, after the engine published the state it led to.
func BenchmarkEngine_traceFlush(b *testing.B) {
	store := trace.NewStore(trace.Limits{})
	e := &Engine{cfg: Config{Project: "p", Tracer: trace.NewProvider(store).Tracer("bench")}}
	r := &res{spec: h0.service("api", "true")}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e.traceChange(r, time.Now(), "main.go changed", 1)
		for _, s := range []string{"stop", "pending", "start", "ready"} {
			r.traceStep(s)
		}
		r.traceEnd(api.StateReady, "")
		b.StartTimer()
		e.flushTraces()
	}
}

var h0 = &harness{dir: "/p"}
