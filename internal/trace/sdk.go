package trace

// loopd's own work, traced with the OpenTelemetry SDK: a Processor keeps
// every span that ends in the Store, as service "loopd", attributed to
// the project and resource its trace's root span names.

import (
	"context"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
)

// Service is the service name of loopd's own spans.
const Service = "loopd"

// maxOpenRoots bounds the attributions of traces whose root span has not
// ended (a root that never ends must not grow the map).
const maxOpenRoots = 4096

// Processor is an sdktrace.SpanProcessor that adds ended spans to a
// Store. A root span says whose work it is with the attributes
// loop.project and loop.resource; its descendants (sync, run steps, ...)
// need not repeat them.
type Processor struct {
	store *Store

	mu    sync.Mutex
	roots map[oteltrace.TraceID]key // open root spans' attribution
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)

// NewProvider returns a tracer provider that records every span into
// store (no sampling, no export elsewhere).
func NewProvider(store *Store) *sdktrace.TracerProvider {
	p := &Processor{store: store, roots: map[oteltrace.TraceID]key{}}
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(p))
}

// OnStart notes a root span's attribution for its trace.
func (p *Processor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s.Parent().IsValid() {
		return
	}
	k, ok := attribution(s.Attributes())
	if !ok {
		return
	}
	p.mu.Lock()
	if len(p.roots) >= maxOpenRoots {
		clear(p.roots)
	}
	p.roots[s.SpanContext().TraceID()] = k
	p.mu.Unlock()
}

// OnEnd keeps the span.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	tid := s.SpanContext().TraceID()
	p.mu.Lock()
	k, ok := p.roots[tid]
	if !s.Parent().IsValid() {
		delete(p.roots, tid)
	}
	p.mu.Unlock()
	if !ok {
		k, _ = attribution(s.Attributes())
	}
	out := api.Span{
		TraceID: tid.String(), SpanID: s.SpanContext().SpanID().String(),
		Name: s.Name(), Kind: strings.ToLower(s.SpanKind().String()),
		Start: s.StartTime(), End: s.EndTime(),
		Service: Service, Project: k.project, Resource: k.resource,
	}
	if s.Parent().IsValid() {
		out.ParentID = s.Parent().SpanID().String()
	}
	out.Attributes = kvs(s.Attributes())
	switch st := s.Status(); st.Code {
	case codes.Ok:
		out.Status = StatusOK
	case codes.Error:
		out.Status, out.Message = StatusError, clip(st.Description, maxValue)
	}
	for i, ev := range s.Events() {
		if i == maxEvents {
			break
		}
		out.Events = append(out.Events, api.SpanEvent{Time: ev.Time, Name: ev.Name, Attributes: kvs(ev.Attributes)})
	}
	p.store.Add([]api.Span{out})
}

// Shutdown implements sdktrace.SpanProcessor.
func (p *Processor) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor: spans are kept as they end.
func (p *Processor) ForceFlush(context.Context) error { return nil }

func attribution(attrs []attribute.KeyValue) (key, bool) {
	var k key
	for _, a := range attrs {
		switch a.Key {
		case AttrProject:
			k.project = a.Value.Emit()
		case AttrResource:
			k.resource = a.Value.Emit()
		}
	}
	return k, k.resource != ""
}

func kvs(attrs []attribute.KeyValue) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		if a.Key == AttrProject || a.Key == AttrResource || len(m) == maxAttrs {
			continue
		}
		m[clip(string(a.Key), maxName)] = clip(a.Value.Emit(), maxValue)
	}
	return m
}
