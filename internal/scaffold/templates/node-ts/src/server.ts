// {{.Name}}: an HTTP service with JSON logs, /healthz and /metrics.
import * as http from "node:http";

let requests = 0;

export function log(level: string, msg: string, attrs: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, service: "{{.Name}}", ...attrs }) + "\n");
}

export function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = Date.now();
  requests++;
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
  } else if (req.method === "GET" && req.url === "/metrics") {
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" })
      .end(`# TYPE http_requests_total counter\nhttp_requests_total ${requests}\n`);
  } else if (req.method === "GET" && req.url === "/") {
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ service: "{{.Name}}", message: "hello" }));
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  }
  log("INFO", "request", { method: req.method, path: req.url, duration_ms: Date.now() - start });
}

export function createServer(): http.Server {
  return http.createServer(handler);
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? "{{.Port}}");
  createServer().listen(port, () => log("INFO", "listening", { port }));
}
