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

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
)

// changeTrace is r's trace in progress; loop-owned. The step's context
// goes to runtime calls, which may add spans under it from their
// goroutines (spans are safe for concurrent use).
type changeTrace struct {
	tracer oteltrace.Tracer
	ctx    context.Context // the root span's
	root   oteltrace.Span
	step   oteltrace.Span
}

// traceChange begins r's change trace at the batch's first event, or
// notes a further change in the one in progress.
func (e *Engine) traceChange(r *res, at time.Time, why string, files int) {
	if e.cfg.Tracer == nil {
		return
	}
	if r.trace.root != nil {
		r.trace.root.AddEvent("more changes", oteltrace.WithAttributes(attribute.String("loop.change", why)))
		return
	}
	now := time.Now()
	ctx, root := e.cfg.Tracer.Start(context.Background(), "save-to-live", oteltrace.WithTimestamp(at),
		oteltrace.WithAttributes(attribute.String("loop.project", e.cfg.Project), attribute.String("loop.resource", r.spec.Name),
			attribute.String("loop.change", why), attribute.Int("loop.files", files)))
	_, w := e.cfg.Tracer.Start(ctx, "watch", oteltrace.WithTimestamp(at))
	w.End(oteltrace.WithTimestamp(now))
	r.trace = changeTrace{tracer: e.cfg.Tracer, ctx: ctx, root: root}
}

// traceStep ends r's current step and begins the next; the context
// carries it to runtime calls (context.Background() with no trace).
func (r *res) traceStep(name string, attrs ...attribute.KeyValue) context.Context {
	t := &r.trace
	if t.root == nil {
		return context.Background()
	}
	if t.step != nil {
		t.step.End()
	}
	ctx, sp := t.tracer.Start(t.ctx, name, oteltrace.WithAttributes(attrs...))
	t.step = sp
	return ctx
}

// stepContext carries r's current step span, so that the readiness
// probe's HTTP requests pass it on (traceparent) and the service's own
// spans of them nest under "ready"; context.Background() without a trace.
func (r *res) stepContext() context.Context {
	if r.trace.step == nil {
		return context.Background()
	}
	return oteltrace.ContextWithSpan(context.Background(), r.trace.step)
}

// traceEnd ends r's change trace as state says: ready is done, failed
// and crashed are errors, stopped and disabled cut it short. Other
// states leave it running.
func (r *res) traceEnd(state, reason string) {
	t := &r.trace
	if t.root == nil {
		return
	}
	switch state {
	case api.StateReady:
	case api.StateFailed, api.StateCrashed:
		t.root.SetStatus(codes.Error, reason)
	case api.StateStopped, api.StateDisabled:
	default:
		return
	}
	if t.step != nil {
		t.step.End()
	}
	t.root.SetAttributes(attribute.String("loop.outcome", state))
	t.root.End()
	*t = changeTrace{}
}
