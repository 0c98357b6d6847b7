// Command otelsvc is the traced service of the end-to-end trace tests: an
// HTTP server on 127.0.0.1:$PORT ($HOST:$PORT if set) instrumented with the official
// OpenTelemetry Go SDK, its exporter (OTLP/HTTP) configured only by the
// environment loop injects (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Each request is a trace
// of two spans, exported before the reply, and a log line with its id.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "otelsvc:", err)
		os.Exit(1)
	}
	// A syncer exports each span as it ends: the reply follows the export.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracer := tp.Tracer("otelsvc")
	host := os.Getenv("HOST") // in a container: 0.0.0.0
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, os.Getenv("PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "otelsvc:", err)
		os.Exit(1)
	}
	fmt.Println("otelsvc listening on", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A caller's W3C traceparent (loop's readiness probe within a
		// change) makes this span its child, as instrumented servers do.
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, sp := tracer.Start(ctx, "GET "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", r.URL.Path)))
		_, child := tracer.Start(ctx, "query", trace.WithAttributes(attribute.String("db.system", "sqlite")))
		if r.URL.Query().Get("fail") != "" {
			child.SetStatus(codes.Error, "no such table")
		}
		child.End()
		sp.End()
		id := sp.SpanContext().TraceID().String()
		fmt.Printf("handled %s trace_id=%s\n", r.URL.Path, id)
		fmt.Fprintln(w, id)
	}))
}
