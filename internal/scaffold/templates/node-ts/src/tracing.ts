// OpenTelemetry tracing for {{.Name}}, configured only by the standard OTEL_*
// environment, which loop sets for every service it runs:
// OTEL_EXPORTER_OTLP_ENDPOINT (where spans go, OTLP over HTTP/protobuf),
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (who sent them). Without an
// endpoint the service still creates spans (and logs their trace ids) but
// exports nothing, so it runs quietly outside loop.
//
// `node --require ./dist/tracing.js dist/server.js` (npm start, the Loopfile,
// the Dockerfile) loads this file before the server: the HTTP instrumentation
// must patch node:http before the server requires it.
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, setGlobalErrorHandler } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { defaultResource, detectResources, envDetector } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  SpanExporter,
  SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { log } from "./log";

// setupTracing installs the global tracer provider, the W3C propagators
// (traceparent, baggage) and the node:http instrumentation: a server span per
// request, continuing the caller's trace. Spans go to exporter when given (the
// tests' in-memory one), else over OTLP when the environment names an
// endpoint, else nowhere. shutdown() on the result flushes them.
export function setupTracing(exporter?: SpanExporter): NodeTracerProvider {
  // The SDK's own errors (an export that failed: the collector is down)
  // become JSON log lines like the service's.
  setGlobalErrorHandler((err) => log("WARN", "opentelemetry", { err: String(err) }));
  const spanProcessors: SpanProcessor[] = [];
  if (exporter) {
    spanProcessors.push(new SimpleSpanProcessor(exporter));
  } else if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    // A second rather than the SDK's five: in the inner loop a request's
    // trace should show up about as soon as its reply.
    const delay = process.env.OTEL_BSP_SCHEDULE_DELAY ? {} : { scheduledDelayMillis: 1000 };
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter(), delay));
  }
  const provider = new NodeTracerProvider({
    // service.name and the other attributes from OTEL_SERVICE_NAME and
    // OTEL_RESOURCE_ATTRIBUTES.
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    spanProcessors,
  });
  provider.register({
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new HttpInstrumentation()] });
  return provider;
}

// Preloaded with --require (no main module yet): set up from the environment
// and flush the buffered spans when loop (or Ctrl-C) stops the service.
if (require.main === undefined) {
  const provider = setupTracing();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      provider
        .shutdown()
        .catch((err) => log("WARN", "tracing shutdown", { err: String(err) }))
        .finally(() => process.exit(0));
    });
  }
}
