package mcpserver

// The trace tools: list_traces and get_trace, over the spans loopd keeps
// of what the services export and of its own work (service "loopd").

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/trace"
)

// Limits of list_traces.
const (
	defaultTraces = 20
	maxTraces     = 200
)

func traceTools() []tool {
	return []tool{
		{newTool("list_traces",
			"List a project's recent traces, newest first: trace id, root span, resource, start, duration, span count and whether a span failed. Services loop runs export OpenTelemetry spans to loopd (their OTEL_EXPORTER_OTLP_ENDPOINT is set); loopd's own work on a file change (watch, sync, restart, ready) is traced too, as service loopd. Then call get_trace with an id.",
			readOnly(), projectParam,
			mcp.WithString("resource", mcp.Description("Only this resource's traces. Default: every resource's.")),
			mcp.WithInteger("limit", mcp.Description("How many traces at most (default 20, at most 200)."), mcp.Min(1), mcp.Max(maxTraces))),
			listTraces},
		{newTool("get_trace",
			"Show one trace as an indented tree of its spans: each span's name, duration, offset from the trace's start, resource, error status and attributes, and its events (exceptions). Use it to see where a slow or failing request, or a slow save-to-live, spent its time.",
			readOnly(),
			mcp.WithString("trace_id", mcp.Required(), mcp.Description("The trace id (32 hex digits) from list_traces, or from a log line's trace_id."))),
			getTrace},
	}
}

func listTraces(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	resource := req.GetString("resource", "")
	if resource != "" {
		if _, err := findResource(p, resource); err != nil {
			return "", err
		}
	}
	ts, err := c.Traces(ctx, p.Name, resource, req.GetInt("limit", defaultTraces))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(note)
	if len(ts) == 0 {
		fmt.Fprintf(&b, "No traces of project %s yet. Services export spans with the OpenTelemetry SDK to the endpoint loop sets (OTEL_EXPORTER_OTLP_ENDPOINT); loopd traces a file change's way to ready.\n", p.Name)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "%d trace(s) of project %s, newest first:\n", len(ts), p.Name)
	for _, t := range ts {
		fmt.Fprintf(&b, "- %s %s [%s] %s, %d spans, at %s", t.TraceID, t.Root, t.Resource, trace.FormatDuration(t.Duration), t.Spans, t.Start.Local().Format("15:04:05.000"))
		if t.Error {
			b.WriteString(" ERROR")
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func getTrace(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	id := strings.ToLower(strings.TrimSpace(req.GetString("trace_id", "")))
	t, err := c.Trace(ctx, id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	trace.WriteTree(&b, *t)
	return b.String(), nil
}
