//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// TestNew_GoTemplateTraces: the go-http template comes instrumented with
// OpenTelemetry and needs no configuration under loop (see
// testTemplateTraces).
func TestNew_GoTemplateTraces(t *testing.T) {
	t.Parallel()
	testTemplateTraces(t, "go-http", "tmpltraces", "main.go")
}

// TestNew_NodeTemplateTraces: the node-ts template too (tracing.ts, preloaded
// with node --require); its install task fetches the OpenTelemetry packages
// from the npm registry.
func TestNew_NodeTemplateTraces(t *testing.T) {
	t.Parallel()
	testTemplateTraces(t, "node-ts", "nodetraces", "src/server.ts")
}

// testTemplateTraces: after `loop up` of a project generated from template
// (process runtime), a request to / is a trace of the service in `loop
// traces` (root span "GET /", a server span of demo that answered 200),
// the request's log line carries that trace id (`loop logs --json`), and
// the service logs no exporter errors.
func testTemplateTraces(t *testing.T, template, project, source string) {
	e := newEnv(t, project)
	e.env = append(e.env, "LOOP_RUNTIME=process")
	port := freePort(t)
	e.mustLoop("new", template, "demo", "--dir", ".", "--force", "--set", "Port="+strconv.Itoa(port))
	e.up()

	if code, body, err := httpGet(port, "/"); err != nil || code != 200 {
		t.Fatalf("GET / of the generated service: %d %q, %v", code, body, err)
	}
	// The batch span processor exports within a second of the span's end.
	var root api.TraceSummary
	if !poll(30*time.Second, func() bool {
		var ts []api.TraceSummary
		if err := json.Unmarshal([]byte(e.mustLoop("traces", "demo", "--json").stdout), &ts); err != nil {
			t.Fatalf("loop traces demo --json: %v", err)
		}
		for _, s := range ts {
			if s.Root == "GET /" {
				root = s
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no trace with root GET / in loop traces demo:\n%s", e.loop("traces", "demo"))
	}
	if list := e.mustLoop("traces", "demo").stdout; !strings.Contains(list, root.TraceID) || !strings.Contains(list, "GET /") {
		t.Errorf("loop traces demo: want %s, GET /:\n%s", root.TraceID, list)
	}
	tree := e.mustLoop("trace", root.TraceID).stdout
	if !strings.Contains(tree, "\nGET /  ") || !strings.Contains(tree, "[demo]") || !strings.Contains(tree, "http.response.status_code=200") {
		t.Errorf("loop trace %s: want a span GET / of demo that answered 200:\n%s", root.TraceID, tree)
	}

	var logged bool
	logs := e.mustLoop("logs", "demo", "--json").stdout
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l api.LogLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("loop logs demo --json: %v in %q", err, raw)
		}
		var entry struct {
			Msg     string `json:"msg"`
			Path    string `json:"path"`
			TraceID string `json:"trace_id"`
		}
		json.Unmarshal([]byte(l.Text), &entry) // not every line is the service's JSON
		if entry.Msg == "request" && entry.Path == "/" {
			logged = logged || (entry.TraceID == root.TraceID && l.TraceID == root.TraceID)
		}
		if strings.Contains(l.Text, `"msg":"opentelemetry"`) {
			t.Errorf("the service logged an OpenTelemetry error: %s", l.Text)
		}
	}
	if !logged {
		t.Errorf("no request log line of GET / with trace_id %s in loop logs demo --json:\n%s", root.TraceID, logs)
	}

	// A change: loopd's save-to-live trace of it, and in it, under its
	// ready step, the service's own span of the readiness probe (the probe
	// carries the step as a traceparent, the template's tracing takes it).
	b, err := os.ReadFile(filepath.Join(e.dir, source))
	if err != nil {
		t.Fatal(err)
	}
	e.write(source, string(b)+"\n// changed by the test\n")
	e.settled()
	var tr api.Trace
	if !poll(30*time.Second, func() bool {
		var ts []api.TraceSummary
		if err := json.Unmarshal([]byte(e.mustLoop("traces", "demo", "--json").stdout), &ts); err != nil {
			t.Fatalf("loop traces demo --json: %v", err)
		}
		for _, s := range ts {
			if s.Root != "save-to-live" {
				continue
			}
			if err := json.Unmarshal([]byte(e.mustLoop("trace", s.TraceID, "--json").stdout), &tr); err != nil {
				t.Fatalf("loop trace %s --json: %v", s.TraceID, err)
			}
			ids := map[string]string{}
			for _, sp := range tr.Spans {
				ids[sp.SpanID] = sp.Name
			}
			for _, sp := range tr.Spans {
				if sp.Name == "GET /healthz" && sp.Service == "demo" && ids[sp.ParentID] == "ready" {
					return true
				}
			}
		}
		return false
	}) {
		t.Errorf("no save-to-live trace of the change with the service's GET /healthz under ready:\n%s", e.loop("trace", tr.TraceID))
	}
}
