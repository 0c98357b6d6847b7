package engine

// loopd's own work on a change, traced: one trace per resource a change
// affects, from the first file event to live. The root span
// "save-to-live" (attributes loop.project and loop.resource, so the
// trace is listed under the resource) starts at the watcher's first
// event; a "watch" span covers the debounce and hand-off; then one step
// span at a time: stop, pending, start, ready for a process; update (with
// the runtime's sync, run and restart spans under it) and ready for a
// container; launch for a container that is rebuilt. The root ends when
// the resource is ready (or failed, crashed, stopped). Without a Tracer
// nothing is recorded and nothing is allocated.
//
// The change is on the restart's critical path, so the spans are not
// made while it runs: each step costs a timestamp and a slot in a
// slice, and the spans are built with those timestamps once the trace
// ends, after the engine published the new state (flushTraces, from
// settle). Only a step whose context leaves the engine — a container's
// launch or update, whose runtime adds spans under it, and the ready step
// of a readiness probe, which passes it on as traceparent — is made a
// real span when it begins (with the root, if it is not one yet).

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
)

// changeTrace is r's trace in progress; loop-owned. A zero value (nil
// tracer) traces nothing.
type changeTrace struct {
	tracer oteltrace.Tracer
	out    *[]*changeRecord // the engine's ended traces, built by flushTraces
	rec    *changeRecord
	// ctx and root are set once the root is a real span (materialize):
	// a step's context left the engine.
	ctx  context.Context
	root oteltrace.Span
	cur  traceStep // the step in progress; name "" before the first
}

// changeRecord is what a change trace recorded, built into spans by
// build.
type changeRecord struct {
	tracer          oteltrace.Tracer
	project, res    string
	why             string
	files           int
	at, seen, end   time.Time // first event; handed to the engine; live (or given up)
	more            []traceEvent
	steps           []traceStep // ended steps not yet spans
	ctx             context.Context
	root            oteltrace.Span // a real span already (materialized); nil: built from the record
	outcome, reason string
	failed          bool
}

// traceStep is one step: recorded (start, end, attrs), or a real span.
type traceStep struct {
	name       string
	start, end time.Time
	attrs      []attribute.KeyValue
	span       oteltrace.Span
}

// traceEvent is a further change while the trace was open.
type traceEvent struct {
	at  time.Time
	why string
}

// traceChange begins r's change trace at the batch's first event, or
// notes a further change in the one in progress.
func (e *Engine) traceChange(r *res, at time.Time, why string, files int) {
	if e.cfg.Tracer == nil {
		return
	}
	t := &r.trace
	now := time.Now()
	if t.rec != nil {
		if t.root != nil {
			t.root.AddEvent("more changes", oteltrace.WithTimestamp(now), oteltrace.WithAttributes(attribute.String("loop.change", why)))
		} else {
			t.rec.more = append(t.rec.more, traceEvent{at: now, why: why})
		}
		return
	}
	*t = changeTrace{tracer: e.cfg.Tracer, out: &e.traced, rec: &changeRecord{
		tracer: e.cfg.Tracer, project: e.cfg.Project, res: r.spec.Name, why: why, files: files, at: at, seen: now,
		steps: make([]traceStep, 0, 4),
	}}
}

// traceStep ends r's current step and begins the next, recorded only
// (see the top of the file).
func (r *res) traceStep(name string, attrs ...attribute.KeyValue) {
	t := &r.trace
	if t.rec == nil {
		return
	}
	now := time.Now()
	t.endStep(now)
	t.cur = traceStep{name: name, start: now, attrs: attrs}
}

// traceStepContext is traceStep for a step whose context goes to a
// runtime call that may add spans under it (from its goroutines: spans
// are safe for concurrent use); context.Background() with no trace.
func (r *res) traceStepContext(name string, attrs ...attribute.KeyValue) context.Context {
	r.traceStep(name, attrs...)
	return r.stepContext()
}

// stepContext carries r's current step as a real span, so that the
// readiness probe's HTTP requests pass it on (traceparent) and the
// service's own spans of them nest under "ready", and runtime calls add
// theirs under it; context.Background() without a trace.
func (r *res) stepContext() context.Context {
	t := &r.trace
	if t.rec == nil || t.cur.name == "" {
		return context.Background()
	}
	if t.cur.span == nil {
		t.materialize()
		_, t.cur.span = t.tracer.Start(t.ctx, t.cur.name, oteltrace.WithTimestamp(t.cur.start), oteltrace.WithAttributes(t.cur.attrs...))
	}
	return oteltrace.ContextWithSpan(context.Background(), t.cur.span)
}

// materialize makes the root a real span, so that steps can be its
// children while the change runs; the record's events go on it.
func (t *changeTrace) materialize() {
	if t.root != nil {
		return
	}
	rec := t.rec
	t.ctx, t.root = rec.startRoot()
	for _, ev := range rec.more {
		t.root.AddEvent("more changes", oteltrace.WithTimestamp(ev.at), oteltrace.WithAttributes(attribute.String("loop.change", ev.why)))
	}
	rec.more = nil
	rec.ctx, rec.root = t.ctx, t.root
}

// endStep ends the current step at now: a real span ends, a recorded
// one joins the record.
func (t *changeTrace) endStep(now time.Time) {
	switch {
	case t.cur.name == "":
	case t.cur.span != nil:
		t.cur.span.End(oteltrace.WithTimestamp(now))
	default:
		t.cur.end = now
		t.rec.steps = append(t.rec.steps, t.cur)
	}
	t.cur = traceStep{}
}

// traceEnd ends r's change trace as state says: ready is done, failed
// and crashed are errors, stopped and disabled cut it short. Other
// states leave it running. The spans are built by flushTraces.
func (r *res) traceEnd(state, reason string) {
	t := &r.trace
	if t.rec == nil {
		return
	}
	switch state {
	case api.StateReady, api.StateStopped, api.StateDisabled:
	case api.StateFailed, api.StateCrashed:
		t.rec.failed = true
	default:
		return
	}
	now := time.Now()
	t.endStep(now)
	t.rec.end, t.rec.outcome, t.rec.reason = now, state, reason
	*t.out = append(*t.out, t.rec)
	*t = changeTrace{}
}

// flushTraces builds the spans of the change traces that ended; called
// once the engine published the state they led to. Loop-owned.
func (e *Engine) flushTraces() {
	for i, rec := range e.traced {
		rec.build()
		e.traced[i] = nil
	}
	e.traced = e.traced[:0]
}

// startRoot starts the root span at the first event, and the watch span
// under it.
func (rec *changeRecord) startRoot() (context.Context, oteltrace.Span) {
	ctx, root := rec.tracer.Start(context.Background(), "save-to-live", oteltrace.WithTimestamp(rec.at),
		oteltrace.WithAttributes(attribute.String("loop.project", rec.project), attribute.String("loop.resource", rec.res),
			attribute.String("loop.change", rec.why), attribute.Int("loop.files", rec.files)))
	_, w := rec.tracer.Start(ctx, "watch", oteltrace.WithTimestamp(rec.at))
	w.End(oteltrace.WithTimestamp(rec.seen))
	return ctx, root
}

// build makes the spans of an ended change trace.
func (rec *changeRecord) build() {
	ctx, root := rec.ctx, rec.root
	if root == nil {
		ctx, root = rec.startRoot()
		for _, ev := range rec.more {
			root.AddEvent("more changes", oteltrace.WithTimestamp(ev.at), oteltrace.WithAttributes(attribute.String("loop.change", ev.why)))
		}
	}
	for _, s := range rec.steps {
		_, sp := rec.tracer.Start(ctx, s.name, oteltrace.WithTimestamp(s.start), oteltrace.WithAttributes(s.attrs...))
		sp.End(oteltrace.WithTimestamp(s.end))
	}
	if rec.failed {
		root.SetStatus(codes.Error, rec.reason)
	}
	root.SetAttributes(attribute.String("loop.outcome", rec.outcome))
	root.End(oteltrace.WithTimestamp(rec.end))
}
