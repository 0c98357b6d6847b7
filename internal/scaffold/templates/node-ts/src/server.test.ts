import { test } from "node:test";
import * as assert from "node:assert";
import { AddressInfo } from "node:net";
import { createServer } from "./server";

test("healthz, root and metrics answer", async () => {
  const server = createServer().listen(0);
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const health = await fetch(`${base}/healthz`);
    assert.strictEqual(health.status, 200);
    assert.strictEqual(await health.text(), "ok\n");
    const root = await (await fetch(`${base}/`)).json();
    assert.strictEqual(root.service, "{{.Name}}");
    assert.match(await (await fetch(`${base}/metrics`)).text(), /http_requests_total 3/);
  } finally {
    server.close();
  }
});
