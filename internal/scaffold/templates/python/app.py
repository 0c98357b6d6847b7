"""{{.Name}}: an HTTP service (stdlib only) with JSON logs, /healthz and /metrics."""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_requests = 0


def log(level, msg, **attrs):
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level,
              "msg": msg, "service": "{{.Name}}", **attrs}
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global _requests
        start = time.monotonic()
        with _lock:
            _requests += 1
            count = _requests
        if self.path == "/healthz":
            self._send(200, "text/plain", "ok\n")
        elif self.path == "/metrics":
            body = "# TYPE http_requests_total counter\nhttp_requests_total %d\n" % count
            self._send(200, "text/plain; version=0.0.4", body)
        elif self.path == "/":
            self._send(200, "application/json", json.dumps({"service": "{{.Name}}", "message": "hello"}))
        else:
            self._send(404, "text/plain", "not found\n")
        log("INFO", "request", method="GET", path=self.path,
            duration_ms=int((time.monotonic() - start) * 1000))

    def _send(self, status, ctype, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # JSON logs only
        pass


def make_server(port):
    return ThreadingHTTPServer(("", port), Handler)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "{{.Port}}"))
    log("INFO", "listening", port=port)
    make_server(port).serve_forever()
