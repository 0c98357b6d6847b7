package telemetry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

// manual is an exporter over a ManualReader: what an export would send.
func manual(t *testing.T, cfg Config, opts Options) (*Exporter, *sdkmetric.ManualReader) {
	t.Helper()
	id, err := LoadIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := sdkmetric.NewManualReader()
	x := &Exporter{}
	if err := x.init(cfg, opts, id, r); err != nil {
		t.Fatal(err)
	}
	return x, r
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sum adds a counter's points whose attributes include want.
func sum(t *testing.T, got map[string]metricdata.Aggregation, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := got[name].(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: not exported as an int64 sum (got %T)", name, got[name])
	}
	var n int64
	for _, p := range s.DataPoints {
		if has(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

func has(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// inner is a project's up, a change made live, a crash and a failed task,
// as the recorder stores them.
func inner(at time.Time) []store.Event {
	t := func(ms int) time.Time { return at.Add(time.Duration(ms) * time.Millisecond) }
	res := func(ms int, name, kind, state, prev, run, outcome string, stl time.Duration) store.Event {
		return store.Event{Time: t(ms), Project: "shop", Resource: name, ResourceKind: kind, Kind: api.EventResource,
			State: state, PrevState: prev, Run: run, Outcome: outcome, SaveToLive: stl}
	}
	return []store.Event{
		res(0, "web", "service", api.StatePending, "", "", "", 0),
		res(0, "test", "task", api.StatePending, "", "", "", 0),
		{Time: t(1), Project: "shop", Kind: api.EventProject, Reason: "project up"},
		res(10, "web", "service", api.StateStarting, api.StatePending, "start", "", 0),
		res(10, "test", "task", api.StateStarting, api.StatePending, "task", "", 0),
		res(300, "test", "task", api.StateReady, api.StateStarting, "task", store.RunReady, 0),
		res(500, "web", "service", api.StateReady, api.StateStarting, "start", store.RunReady, 0),
		res(900, "web", "service", api.StateStarting, api.StateReady, "restart", "", 0),
		res(950, "web", "service", api.StateReady, api.StateStarting, "restart", store.RunReady, 42*time.Millisecond),
		res(1000, "web", "service", api.StateCrashed, api.StateReady, "restart", store.RunCrashed, 0),
		res(1100, "test", "task", api.StateStarting, api.StateReady, "task", "", 0),
		res(1200, "test", "task", api.StateFailed, api.StateStarting, "task", store.RunFailed, 0),
	}
}

func TestExporter_InstrumentMapping(t *testing.T) {
	now := time.Now()
	x, r := manual(t, Config{}, Options{PolicyExceptions: func() map[string]int64 { return map[string]int64{"shop": 2} }})
	for _, e := range inner(now) {
		x.Event(e)
	}
	x.Ship(store.Ship{Project: "shop", Service: "web", Outcome: store.OutcomeShipped, CommitTime: now.Add(-time.Hour), Finished: now})
	x.Ship(store.Ship{Project: "shop", Service: "web", Outcome: store.OutcomeDryRun})
	x.Feedback(9)
	x.Feedback(5)
	x.Feedback(10)
	got := collect(t, r)

	shop, web := attribute.String(attrProject, x.id.Hash("shop")), attribute.String(attrResource, x.id.Hash("web"))
	svc, task := attribute.String(attrKind, "service"), attribute.String(attrKind, "task")
	for _, c := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{nameRuns, nil, 4},
		{nameRuns, []attribute.KeyValue{shop, web, svc}, 2},
		{nameRuns, []attribute.KeyValue{svc, attribute.String(attrRun, "restart")}, 1},
		{nameRuns, []attribute.KeyValue{task}, 2},
		{nameRestarts, []attribute.KeyValue{svc}, 1},
		{nameRestarts, []attribute.KeyValue{task}, 0},
		{nameFailures, []attribute.KeyValue{svc, attribute.String(attrOutcome, "crashed")}, 1},
		{nameFailures, []attribute.KeyValue{task, attribute.String(attrOutcome, "failed")}, 1},
		{nameDeploys, []attribute.KeyValue{shop, web, attribute.String(attrOutcome, "shipped")}, 1},
		{nameDeploys, []attribute.KeyValue{attribute.String(attrOutcome, "dry-run")}, 1},
		{nameAnswers, []attribute.KeyValue{attribute.String(attrCategory, "promoter")}, 2},
		{nameAnswers, []attribute.KeyValue{attribute.String(attrCategory, "detractor")}, 1},
		{nameAnswers, []attribute.KeyValue{attribute.String(attrCategory, "passive")}, 0},
	} {
		if n := sum(t, got, c.name, c.attrs...); n != c.want {
			t.Errorf("%s%v = %d, want %d", c.name, c.attrs, n, c.want)
		}
	}

	stl := got[nameSaveToLive].(metricdata.Histogram[float64])
	if len(stl.DataPoints) != 1 || stl.DataPoints[0].Count != 1 || !has(stl.DataPoints[0].Attributes, []attribute.KeyValue{shop, web, svc}) {
		t.Fatalf("save-to-live: %+v, want one sample of shop/web (service)", stl.DataPoints)
	}
	p := stl.DataPoints[0]
	if p.Sum != 0.042 || len(p.Bounds) != len(saveToLiveBuckets) || p.Bounds[0] != 0.005 || p.Bounds[len(p.Bounds)-1] != 30 {
		t.Errorf("save-to-live: sum %g, bounds %v; want 0.042 in 5ms..30s buckets", p.Sum, p.Bounds)
	}
	if p.BucketCounts[3] != 1 { // (0.025, 0.05]
		t.Errorf("save-to-live buckets %v: want 42ms in (25ms, 50ms]", p.BucketCounts)
	}
	ftr := got[nameFirstReady].(metricdata.Histogram[float64])
	if len(ftr.DataPoints) != 1 || ftr.DataPoints[0].Count != 1 || ftr.DataPoints[0].Sum != 0.5 {
		t.Errorf("time to first ready: %+v, want one sample of 0.5 s", ftr.DataPoints)
	}
	lead := got[nameLeadTime].(metricdata.Histogram[float64])
	if len(lead.DataPoints) != 1 || lead.DataPoints[0].Sum != 3600 {
		t.Errorf("lead time: %+v, want one sample of 3600 s (the dry run has none)", lead.DataPoints)
	}
	score := got[nameScore].(metricdata.Histogram[int64])
	if len(score.DataPoints) != 1 || score.DataPoints[0].Count != 3 || score.DataPoints[0].Sum != 24 {
		t.Errorf("feedback score: %+v, want 3 answers summing to 24", score.DataPoints)
	}
	gauge := got[namePolicyExcep].(metricdata.Gauge[int64])
	if len(gauge.DataPoints) != 1 || gauge.DataPoints[0].Value != 2 || !has(gauge.DataPoints[0].Attributes, []attribute.KeyValue{shop}) {
		t.Errorf("policy exceptions: %+v, want 2 for the hashed shop", gauge.DataPoints)
	}
	// No clear name in any attribute of any point.
	var rm metricdata.ResourceMetrics
	r.Collect(context.Background(), &rm)
	if s := dump(rm); strings.Contains(s, "shop") || strings.Contains(s, "web") {
		t.Errorf("a clear name was exported:\n%s", s)
	}
}

// dump lists every attribute value of every point.
func dump(rm metricdata.ResourceMetrics) string {
	var b strings.Builder
	add := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + "\n")
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			}
		}
	}
	return b.String()
}

func TestExporter_ProjectNamesAllowed(t *testing.T) {
	x, r := manual(t, Config{ProjectNames: true}, Options{})
	for _, e := range inner(time.Now()) {
		x.Event(e)
	}
	got := collect(t, r)
	if n := sum(t, got, nameRuns, attribute.String(attrProject, "shop"), attribute.String(attrResource, "web")); n != 2 {
		t.Errorf("runs of shop/web in clear = %d, want 2", n)
	}
	if _, ok := got[namePolicyExcep]; ok {
		t.Error("policy exceptions exported without a PolicyExceptions function")
	}
}

// The nil exporter (telemetry off) takes every call.
func TestExporter_NilIsOff(t *testing.T) {
	var x *Exporter
	x.Event(inner(time.Now())[0])
	x.Ship(store.Ship{})
	x.Feedback(9)
	x.Run(context.Background())
	if n, _ := x.Errors(); n != 0 {
		t.Errorf("Errors() = %d", n)
	}
}

func TestIdentity(t *testing.T) {
	home := t.TempDir()
	a, err := LoadIdentity(home)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadIdentity(home)
	if err != nil || a != b {
		t.Fatalf("second load = %+v, %v; want %+v (kept in %s)", b, err, a, IdentityFile)
	}
	other, _ := LoadIdentity(t.TempDir())
	if other.ID == a.ID || other.Hash("shop") == a.Hash("shop") {
		t.Error("two installations share an id or a name's hash")
	}
	if h := a.Hash("shop"); len(h) != hashLen || h != a.Hash("shop") || h == a.Hash("shop2") {
		t.Errorf("Hash(shop) = %q: want %d stable hex digits, unlike another name's", h, hashLen)
	}
}

func TestConfig_metricsURL(t *testing.T) {
	for _, c := range []struct {
		endpoint, want, err string
	}{
		{endpoint: "", want: ""},
		{endpoint: "http://127.0.0.1:9090/api/v1/otlp", want: "http://127.0.0.1:9090/api/v1/otlp/v1/metrics"},
		{endpoint: "https://otel.example.com/", want: "https://otel.example.com/v1/metrics"},
		{endpoint: "http://c:4318/v1/metrics", want: "http://c:4318/v1/metrics"},
		{endpoint: "127.0.0.1:9090", err: "want an OTLP/HTTP base URL"},
		{endpoint: "ftp://c/", err: "want an OTLP/HTTP base URL"},
	} {
		got, err := Config{Endpoint: c.endpoint}.metricsURL()
		if cerr := CheckEndpoint(c.endpoint); (cerr == nil) != (err == nil) {
			t.Errorf("CheckEndpoint(%q) = %v, but metricsURL says %v", c.endpoint, cerr, err)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("metricsURL of %q: error = %v, want one naming %q", c.endpoint, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("metricsURL of %q = %q, %v; want %q", c.endpoint, got, err, c.want)
		}
	}
}

// receiver is a real HTTP endpoint that records OTLP posts, or fails
// them with status.
type receiver struct {
	mu     sync.Mutex
	status int
	paths  []string
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.paths, rc.bodies = append(rc.paths, r.URL.Path), append(rc.bodies, b)
	status := rc.status
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) posts() ([]string, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.paths...), append([][]byte(nil), rc.bodies...)
}

// wait polls cond for up to 20 s.
func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Over real HTTP: posts go to .../v1/metrics every interval, carry no
// clear name, and the last one is flushed when Run ends.
func TestExporter_PostsOTLP(t *testing.T) {
	rc := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	x, err := New(Config{Endpoint: srv.URL + "/api/v1/otlp", Interval: 200 * time.Millisecond}, Options{Home: t.TempDir(), Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); x.Run(ctx) }()
	for _, e := range inner(time.Now()) {
		x.Event(e)
	}
	wait(t, "an export", func() bool { p, _ := rc.posts(); return len(p) > 0 })
	x.Feedback(7)
	n, _ := rc.posts()
	cancel()
	<-done
	paths, bodies := rc.posts()
	if len(paths) <= len(n) {
		t.Errorf("no final export on shutdown: %d posts before, %d after", len(n), len(paths))
	}
	for i, p := range paths {
		if p != "/api/v1/otlp/v1/metrics" {
			t.Errorf("post to %s, want /api/v1/otlp/v1/metrics", p)
		}
		for _, clear := range []string{"shop", "web"} {
			if bytes.Contains(bodies[i], []byte(clear)) {
				t.Errorf("post %d carries the clear name %q", i, clear)
			}
		}
	}
	last := bodies[len(bodies)-1]
	for _, want := range []string{"loop.runs", "loop.feedback.answers", "passive", "loopd", "v9.9.9", x.id.ID} {
		if !bytes.Contains(last, []byte(want)) {
			t.Errorf("last post lacks %q", want)
		}
	}
	if errs, _ := x.Errors(); errs != 0 {
		_, last := x.Errors()
		t.Errorf("Errors() = %d, want 0 (last: %s)", errs, last)
	}
}

// Shutdown cancels an interval's export in flight: that is not a failed
// export (the final flush carries the same cumulative figures).
func TestExporter_ShutdownDuringExportIsNoError(t *testing.T) {
	arrived := make(chan struct{})
	var once sync.Once
	rc := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
			close(arrived)
			<-r.Context().Done() // held until the client gives up
			return
		}
		rc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	x, err := New(Config{Endpoint: srv.URL, Interval: 50 * time.Millisecond}, Options{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); x.Run(ctx) }()
	x.Feedback(9)
	<-arrived
	cancel()
	<-done
	if errs, last := x.Errors(); errs != 0 {
		t.Errorf("Errors() = %d, want 0 (last: %s)", errs, last)
	}
	if paths, bodies := rc.posts(); len(paths) == 0 || !bytes.Contains(bodies[len(bodies)-1], []byte("loop.feedback.answers")) {
		t.Errorf("no final export with the feedback answer after the cancelled one (%d posts)", len(paths))
	}
}

// A receiver that fails: counted, never returned, loopd's calls unaffected.
func TestExporter_FailingEndpointIsCounted(t *testing.T) {
	rc := &receiver{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	x, err := New(Config{Endpoint: srv.URL, Interval: 100 * time.Millisecond}, Options{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); x.Run(ctx) }()
	x.Feedback(3)
	wait(t, "two failed exports", func() bool { n, _ := x.Errors(); return n >= 2 })
	cancel()
	<-done
	if _, last := x.Errors(); !strings.Contains(last, srv.URL+"/v1/metrics") {
		t.Errorf("last error %q, want one naming %s/v1/metrics", last, srv.URL)
	}
}

// docs/metrics.md lists every metric sent, with its Prometheus name.
func TestDocs_ListEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for name, prom := range map[string]string{
		nameSaveToLive: "loop_save_to_live_seconds", nameRuns: "loop_runs_total", nameFailures: "loop_failures_total",
		nameRestarts: "loop_restarts_total", nameFirstReady: "loop_time_to_first_ready_seconds", nameDeploys: "loop_deploys_total",
		nameLeadTime: "loop_lead_time_seconds", nameAnswers: "loop_feedback_answers_total", nameScore: "loop_feedback_score",
		namePolicyExcep: "loop_policy_exceptions",
	} {
		if !strings.Contains(doc, "`"+name+"`") || !strings.Contains(doc, "`"+prom) {
			t.Errorf("docs/metrics.md does not list %s (Prometheus %s)", name, prom)
		}
	}
	for _, env := range []string{"LOOP_TELEMETRY_ENDPOINT", "LOOP_TELEMETRY_PROJECT_NAMES", "LOOP_TELEMETRY_INTERVAL", IdentityFile} {
		if !strings.Contains(doc, env) {
			t.Errorf("docs/metrics.md does not mention %s", env)
		}
	}
}
