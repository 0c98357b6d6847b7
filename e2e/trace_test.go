//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/daemon"
)

// otelsvc builds testdata/otelsvc (a service instrumented with the
// official OpenTelemetry Go SDK) once, from this module's dependencies.
var otelsvc = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "loop-e2e-otelsvc")
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "otelsvc"), "./testdata/otelsvc")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static: it runs in a FROM scratch image too
	out, err := build.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build testdata/otelsvc: %v\n%s", err, out)
	}
	return filepath.Join(dir, "otelsvc"), nil
})

// A service loop runs exports its spans with the OTel SDK configured only
// by the environment loop injects; its traces come back through `loop
// traces`, `loop trace`, the API, MCP, and its log lines name them. A
// file change is a save-to-live trace of loopd's own.
func TestTraces_ServiceAndSaveToLive(t *testing.T) {
	t.Parallel()
	svc, err := otelsvc()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "traces")
	port := freePort(t)
	e.write("src/v.txt", "1")
	e.write("Loopfile", otelsvcLoopfile(svc, port))
	e.up()
	project := e.status().Name

	id := tracedGet(t, port, "/hello?fail=1")

	// The CLI.
	list := e.mustLoop("traces", "api")
	if !strings.Contains(list.stdout, id) || !strings.Contains(list.stdout, "GET /hello") || !strings.Contains(list.stdout, "error") {
		t.Errorf("loop traces api: want %s, GET /hello, error:\n%s", id, list.stdout)
	}
	tree := e.mustLoop("trace", id).stdout
	if !strings.Contains(tree, "\nGET /hello  ") || !strings.Contains(tree, "\n  query  ") || !strings.Contains(tree, "ERROR: no such table") ||
		!strings.Contains(tree, "[api]") || !strings.Contains(tree, "db.system=sqlite") {
		t.Errorf("loop trace %s: want GET /hello with query under it, failed:\n%s", id, tree)
	}

	// The API.
	ctx := t.Context()
	c := e.client()
	tr, err := c.Trace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 2 {
		t.Fatalf("trace %s: %d spans, want 2: %+v", id, len(tr.Spans), tr.Spans)
	}
	root, child := tr.Spans[0], tr.Spans[1]
	if root.Name != "GET /hello" || root.Kind != "server" || root.Service != "api" || root.Project != project || root.Resource != "api" ||
		child.ParentID != root.SpanID || child.Status != "error" {
		t.Errorf("spans: %+v", tr.Spans)
	}
	if _, err := c.Trace(ctx, "0123456789abcdef0123456789abcdef"); !api.IsNotFound(err) {
		t.Errorf("an unknown trace: got %v, want 404", err)
	}
	if _, err := c.Traces(ctx, project, "nope", 0); !api.IsNotFound(err) {
		t.Errorf("traces of an unknown resource: got %v, want 404", err)
	}

	// Its log line carries the trace id.
	var logged bool
	c.Logs(ctx, project, api.LogsQuery{Resources: []string{"api"}}, func(l api.LogLine) error {
		logged = logged || (strings.Contains(l.Text, "handled /hello") && l.TraceID == id)
		return nil
	})
	if !logged {
		t.Errorf("no log line of api with trace_id %s", id)
	}

	// MCP.
	if got := mcpCall(t, e, "list_traces", map[string]any{"resource": "api"}); !strings.Contains(got, id) {
		t.Errorf("list_traces: no %s in:\n%s", id, got)
	}
	if got := mcpCall(t, e, "get_trace", map[string]any{"trace_id": id}); !strings.Contains(got, "  query  ") {
		t.Errorf("get_trace: want the tree:\n%s", got)
	}

	// The receiver is ingest-only: it answers nothing but trace exports.
	oi, err := daemon.ReadOTLPInfo(e.home)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := httpClient.Get(oi.URL + "/v1/projects"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/projects on the OTLP listener: %v %v, want 404", r, err)
	}
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
	  "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"from json",
	  "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"},{"name":"no ids"}]}]}]}`
	r, err := httpClient.Post(oi.URL+"/v1/traces", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.Contains(string(reply), `"rejectedSpans":"1"`) {
		t.Errorf("JSON export: %d %s; want 200 with one span rejected", r.StatusCode, reply)
	}
	if t2, err := c.Trace(ctx, "5b8efff798038103d269b633813fc60c"); err != nil || t2.Spans[0].Project != project {
		t.Errorf("a span with only service.name: %+v, %v; want it attributed to %s", t2, err, project)
	}

	// Save to live: loopd's own trace of the change.
	e.write("src/v.txt", "2")
	e.settled()
	var stl *api.TraceSummary
	poll(time.Minute, func() bool { // the trace ends with the ready state `loop wait` saw
		ts, err := c.Traces(ctx, project, "api", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ts {
			if s.Root == "save-to-live" {
				stl = &s
				return true
			}
		}
		return false
	})
	if stl == nil {
		t.Fatal("no save-to-live trace of api after a change")
	}
	tree = e.mustLoop("trace", stl.TraceID).stdout
	for _, want := range []string{"save-to-live", "\n  watch  ", "\n  stop  ", "\n  start  ", "\n  ready  ", "loop.change=src/v.txt changed", "loop.outcome=ready"} {
		if !strings.Contains(tree, want) {
			t.Errorf("loop trace (save-to-live): no %q in:\n%s", want, tree)
		}
	}
}

// A container's service exports its spans to loopd through the address
// loop injects (host.docker.internal, the bridge's gateway), and a synced
// edit is a save-to-live trace with the live update's sync, run and
// restart spans.
func TestTraces_Container(t *testing.T) {
	t.Parallel()
	svc, err := otelsvc()
	if err != nil {
		t.Fatal(err)
	}
	e := newDockerEnv(t, "ctraces")
	b, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "otelsvc"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	e.write("Dockerfile", "FROM "+baseImage+"\nCOPY otelsvc /otelsvc\nCOPY www /www\n")
	e.write("www/index.html", "v1")
	e.write("Loopfile", fmt.Sprintf(`
image("api-img", context = ".")
container("api", image = "api-img", cmd = ["/otelsvc"], env = {"PORT": "8080", "HOST": "0.0.0.0"},
          ports = ["%d:8080"], sync = [sync("www", "/www")],
          on_change = [run("true"), restart()],
          readiness = http_probe("http://127.0.0.1:%d/healthz"))
`, port, port))
	e.up()
	project := e.status().Name
	if env := e.exec("api", "env"); !strings.Contains(env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://host.docker.internal:") {
		t.Fatalf("the container's env has no OTLP endpoint through host.docker.internal:\n%s", env)
	}

	resp, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/hello", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := strings.TrimSpace(string(body))
	tr, err := e.client().Trace(t.Context(), id)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(e.home, "loopd.log"))
		t.Fatalf("the container's trace %q: %v\nloopd.log:\n%s", id, err, b)
	}
	if len(tr.Spans) != 2 || tr.Spans[0].Resource != "api" || tr.Spans[0].Project != project {
		t.Errorf("the container's spans: %+v", tr.Spans)
	}

	e.write("www/index.html", "v2")
	e.settled()
	var stl string
	poll(time.Minute, func() bool {
		ts, err := e.client().Traces(t.Context(), project, "api", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ts {
			if s.Root == "save-to-live" {
				stl = s.TraceID
			}
		}
		return stl != ""
	})
	if stl == "" {
		t.Fatal("no save-to-live trace of the container after a synced edit")
	}
	tree := e.mustLoop("trace", stl).stdout
	for _, want := range []string{"\n  update  ", "\n    sync  ", "\n    run  ", "\n    restart  ", "\n  ready  "} {
		if !strings.Contains(tree, want) {
			t.Errorf("loop trace (container save-to-live): no %q in:\n%s", want, tree)
		}
	}
}

// otelsvcLoopfile runs the otelsvc binary svc as resource api on port,
// restarted when src/ changes, ready when it answers /healthz.
func otelsvcLoopfile(svc string, port int) string {
	return fmt.Sprintf(`
service("api", cmd = [%q], env = {"PORT": "%d"}, deps = ["src"],
        readiness = http_probe("http://127.0.0.1:%d/healthz"))
`, svc, port, port)
}

// tracedGet requests path of the otelsvc service on port, which answers
// with the id of the request's trace.
func tracedGet(t *testing.T, port int, path string) string {
	t.Helper()
	resp, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := strings.TrimSpace(string(b))
	if len(id) != 32 {
		t.Fatalf("otelsvc answered %q, want its trace id", b)
	}
	return id
}
