// {{.Name}}: an HTTP service with JSON logs, /healthz, /metrics and
// OpenTelemetry traces (a server span per request, see tracing.ts).
import * as http from "node:http";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { log } from "./log";

let requests = 0;

// routes: what the service answers, by method and path.
const routes: Record<string, (res: http.ServerResponse) => void> = {
  "GET /healthz": (res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n"),
  "GET /metrics": (res) =>
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" })
      .end(`# TYPE http_requests_total counter\nhttp_requests_total ${requests}\n`),
  "GET /": (res) =>
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ service: "{{.Name}}", message: "hello" })),
};

export function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = Date.now();
  requests++;
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const route = routes[`${req.method} ${path}`];
  // The request's server span (when tracing is set up) is named after the
  // route it matched ("GET /healthz"), or the method alone when none did:
  // never the raw path, which would make a span name per URL.
  const span = trace.getActiveSpan();
  if (route) {
    span?.updateName(`${req.method} ${path}`);
    span?.setAttribute("http.route", path);
    route(res);
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  }
  const attrs: Record<string, unknown> = { method: req.method, path, duration_ms: Date.now() - start };
  const sc = span?.spanContext();
  if (sc && isSpanContextValid(sc)) {
    attrs.trace_id = sc.traceId;
    attrs.span_id = sc.spanId;
  }
  log("INFO", "request", attrs);
}

export function createServer(): http.Server {
  return http.createServer(handler);
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? "{{.Port}}");
  createServer().listen(port, () => log("INFO", "listening", { port }));
}
