package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Traces: loopd receives OpenTelemetry spans (OTLP/HTTP) from the services
// it runs, and records its own work (file change -> sync -> restart ->
// ready) as spans of service "loopd". It keeps the recent traces of each
// resource in memory.

// Span is one span of a trace. IDs are lowercase hex; ParentID is "" for
// a root span.
type Span struct {
	TraceID    string            `json:"trace_id"`
	SpanID     string            `json:"span_id"`
	ParentID   string            `json:"parent_id,omitempty"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind,omitempty"` // internal, server, client, producer, consumer
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Service    string            `json:"service"`            // service.name of the span's resource
	Project    string            `json:"project,omitempty"`  // loop.project
	Resource   string            `json:"resource,omitempty"` // loop.resource, else service.name
	Attributes map[string]string `json:"attributes,omitempty"`
	Status     string            `json:"status,omitempty"`  // "", "ok" or "error"
	Message    string            `json:"message,omitempty"` // the status message
	Events     []SpanEvent       `json:"events,omitempty"`
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// SpanEvent is a timed annotation of a span (an exception, a log line).
type SpanEvent struct {
	Time       time.Time         `json:"time"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// TraceSummary describes one trace in a list.
type TraceSummary struct {
	TraceID  string        `json:"trace_id"`
	Project  string        `json:"project"`
	Resource string        `json:"resource"`
	Root     string        `json:"root"` // the root span's name ("" while it has not arrived)
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Spans    int           `json:"spans"`
	Error    bool          `json:"error,omitempty"` // a span has status error
}

// Trace is every span kept of one trace, ordered by start time.
type Trace struct {
	TraceID string `json:"trace_id"`
	Spans   []Span `json:"spans"`
	Dropped int    `json:"dropped,omitempty"` // spans not kept (the per-trace limit)
}

// Traces lists a project's recent traces, newest first: of one resource
// when resource is not "", at most limit (0: the daemon's default).
func (c *Client) Traces(ctx context.Context, project, resource string, limit int) ([]TraceSummary, error) {
	v := url.Values{}
	if resource != "" {
		v.Set("resource", resource)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var ts []TraceSummary
	return ts, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/traces?"+v.Encode(), nil, &ts)
}

// Trace returns every span kept of one trace.
func (c *Client) Trace(ctx context.Context, traceID string) (*Trace, error) {
	var t Trace
	return &t, c.do(ctx, http.MethodGet, "/v1/traces/"+url.PathEscape(traceID), nil, &t)
}
