package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// runDaemon runs an in-process loopd on home; stop ends it (idempotent).
func runDaemon(t *testing.T, home string) (*Daemon, *api.Client, func()) {
	t.Helper()
	d := &Daemon{Home: home, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	c := api.NewClient(loophome.Socket(home))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Version(context.Background()); err == nil {
			return d, c, stop
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tempHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	return home
}

// pollStats polls /v1/stats until ok accepts it.
func pollStats(t *testing.T, c *api.Client, ok func(api.Stats) bool) api.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Stats(context.Background(), "", "")
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never matched: %+v (err %v)", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func resourceStats(st api.Stats, project, resource string) api.ResourceStats {
	for _, r := range st.Resources {
		if r.Project == project && r.Resource == resource {
			return r
		}
	}
	return api.ResourceStats{}
}

const statsLoopfile = `service("web", cmd="exec sleep 1000")
task("build", cmd="true")
`

// Events recorded before a daemon restart are still counted after it.
func TestStats_SurviveDaemonRestart(t *testing.T) {
	home := tempHome(t)
	lf := writeLoopfile(t, statsLoopfile)
	_, c, stop := runDaemon(t, home)
	p := up(t, c, lf)
	if err := c.Action(context.Background(), p.Name, "web", "restart"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Wait(context.Background(), p.Name, 10*time.Second); err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait: %v %+v", err, res)
	}
	before := pollStats(t, c, func(st api.Stats) bool { return resourceStats(st, p.Name, "web").Restarts == 1 })
	stop()

	_, c, _ = runDaemon(t, home)
	st := pollStats(t, c, func(api.Stats) bool { return true })
	web, build := resourceStats(st, p.Name, "web"), resourceStats(st, p.Name, "build")
	if web.Runs != 2 || web.Restarts != 1 || web.SuccessRate != 1 {
		t.Errorf("web after restart = %+v, want 2 runs, 1 restart, success 1 (before: %+v)", web, resourceStats(before, p.Name, "web"))
	}
	if build.Runs != 1 || build.Failures != 0 {
		t.Errorf("build after restart = %+v, want 1 run", build)
	}
	if st.TimeToFirstReady.Count != 1 || st.TimeToFirstReady.P50 <= 0 {
		t.Errorf("time to first ready = %+v, want one sample", st.TimeToFirstReady)
	}
	h, err := c.History(context.Background(), p.Name, "web", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Kind != "start" || h[1].Kind != "restart" || h[1].Outcome != "ready" || h[1].Duration <= 0 {
		t.Errorf("web history = %+v, want a start and a restart, both ready", h)
	}
	for _, s := range st.SLOs {
		if s.Name == "daemon availability" && (!s.Met || s.Actual != 1) {
			t.Errorf("availability after a clean stop = %+v, want 1", s)
		}
	}
}

// A store that fails (here: closed under the recorder) does not stop the
// daemon: it keeps serving, counts the errors and says so.
func TestStats_StoreErrorsKeepServing(t *testing.T) {
	d, c, _ := runDaemon(t, tempHome(t))
	r := d.rec.Load()
	for i := 0; r == nil && i < 100; i++ { // record starts with the daemon
		time.Sleep(10 * time.Millisecond)
		r = d.rec.Load()
	}
	if r == nil {
		t.Fatal("no recorder")
	}
	r.store.Close()
	p := up(t, c, writeLoopfile(t, statsLoopfile)) // events the recorder cannot write
	st := pollStats(t, c, func(st api.Stats) bool { return st.StoreErrors > 0 })
	if st.StoreError == "" {
		t.Errorf("store_error is empty with %d store errors", st.StoreErrors)
	}
	if _, err := c.Project(context.Background(), p.Name); err != nil {
		t.Errorf("the daemon stopped serving: %v", err)
	}
	_, err := c.Feedback(context.Background(), 9, "")
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("feedback with a broken store = %v, want 503", err)
	}
}

func TestFeedback_Validation(t *testing.T) {
	_, c, _ := runDaemon(t, tempHome(t))
	ctx := context.Background()
	for _, score := range []int{-1, 11} {
		_, err := c.Feedback(ctx, score, "")
		var se *api.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
			t.Errorf("Feedback(%d) = %v, want 400", score, err)
		}
	}
	for _, score := range []int{10, 0, 8} {
		if _, err := c.Feedback(ctx, score, "ok"); err != nil {
			t.Fatalf("Feedback(%d) = %v", score, err)
		}
	}
	st := pollStats(t, c, func(st api.Stats) bool { return st.NPS != nil })
	if st.NPS.Responses != 3 || st.NPS.Score != 0 {
		t.Errorf("NPS = %+v, want 3 responses, score 0", st.NPS)
	}
}

// /metrics on the socket parses as Prometheus text.
func TestMetrics_PrometheusFormat(t *testing.T) {
	home := tempHome(t)
	_, c, _ := runDaemon(t, home)
	up(t, c, writeLoopfile(t, statsLoopfile))
	pollStats(t, c, func(st api.Stats) bool { return len(st.Resources) == 2 })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", loophome.Socket(home))
	}}}
	resp, err := hc.Get("http://loopd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if got := len(fams["loop_runs_total"].GetMetric()); got != 2 {
		t.Errorf("loop_runs_total has %d series, want 2", got)
	}
	for _, name := range []string{"loop_store_errors_total", "loop_deploys_total", "loop_slo_budget_remaining"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// TestRecorder_Unresponsive: a ready service that becomes unresponsive and
// answers again is one run, not a restart: no implied start, no second
// ending.
func TestRecorder_Unresponsive(t *testing.T) {
	r := &recorder{last: map[resKey]resState{}, logger: slog.New(slog.DiscardHandler)}
	at := time.Now()
	seq := uint64(0)
	ev := func(state string) {
		seq++
		at = at.Add(time.Second)
		r.add(api.Event{Seq: seq, Time: at, Kind: api.EventResource, Project: "p",
			Resource: &api.Resource{Name: "api", Kind: "service", State: state, Since: at, LastRun: 10 * time.Millisecond}})
	}
	ev(api.StateStarting)
	ev(api.StateReady)
	ev(api.StateUnresponsive)
	ev(api.StateReady)
	var starts, ends int
	for _, e := range r.pending {
		if e.State == api.StateStarting {
			starts++
		}
		if e.Outcome != "" {
			ends++
		}
	}
	if starts != 1 || ends != 1 {
		t.Errorf("recorded %d starts and %d ended runs, want 1 and 1: %+v", starts, ends, r.pending)
	}
}
