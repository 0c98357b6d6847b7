import { test } from "node:test";
import * as assert from "node:assert";
import { AddressInfo } from "node:net";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-node";
import { setupTracing } from "./tracing";

// Set up before the server is loaded, as `node --require ./dist/tracing.js`
// does: the instrumentation patches node:http when it is next required.
const exporter = new InMemorySpanExporter();
const provider = setupTracing(exporter);
const { createServer }: typeof import("./server") = require("./server");

test("a request is a server span named after its route, continuing the caller's trace, logged with its trace id", async () => {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const parentId = "00f067aa0ba902b7";
  const lines: string[] = [];
  const write = process.stdout.write;
  // The service's JSON lines; the rest is the test runner's own output.
  process.stdout.write = ((chunk: unknown, ...rest: never[]) =>
    typeof chunk === "string" && chunk.startsWith("{")
      ? lines.push(chunk) > 0
      : write.call(process.stdout, chunk as string, ...rest)) as typeof process.stdout.write;
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    assert.strictEqual(res.status, 200);
    await res.text();
  } finally {
    process.stdout.write = write;
    server.close();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  assert.strictEqual(spans.length, 1, `server spans: ${spans.map((s) => s.name)}`);
  const span = spans[0];
  assert.strictEqual(span.name, "GET /");
  assert.strictEqual(span.spanContext().traceId, traceId);
  assert.strictEqual(span.parentSpanContext?.spanId, parentId);
  assert.strictEqual(span.attributes["http.route"], "/");
  assert.strictEqual(span.attributes["http.response.status_code"], 200);
  const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.path === "/");
  assert.ok(logged, `no request log line in ${lines}`);
  assert.strictEqual(logged.trace_id, traceId);
  assert.strictEqual(logged.span_id, span.spanContext().spanId);
  await provider.shutdown();
});
