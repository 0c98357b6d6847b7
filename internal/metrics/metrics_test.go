package metrics

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ev(ms int, res, kind, prev, state, run, outcome string, dur, stl time.Duration) store.Event {
	return store.Event{Time: at(ms), Project: "shop", Resource: res, ResourceKind: kind, Kind: "resource",
		PrevState: prev, State: state, Run: run, Outcome: outcome, Duration: dur, SaveToLive: stl}
}

// knownSequence: `loop up` of shop (web service, test task), ready after
// 1.5s; three saves (100ms, 200ms, 400ms to live), one crash, one failed
// test run.
func knownSequence() []store.Event {
	ms := time.Millisecond
	return []store.Event{
		ev(0, "web", "service", "", "pending", "", "", 0, 0),
		ev(0, "test", "task", "", "pending", "", "", 0, 0),
		{Time: at(10), Project: "shop", Kind: "project", Reason: "project up"},
		ev(20, "web", "service", "pending", "starting", "start", "", 0, 0),
		ev(30, "test", "task", "pending", "starting", "task", "", 0, 0),
		ev(900, "test", "task", "starting", "ready", "task", store.RunReady, 870*ms, 0),
		ev(1500, "web", "service", "starting", "ready", "start", store.RunReady, 1480*ms, 0),
		// save 1: web restarts, 100ms to live
		ev(5000, "web", "service", "ready", "starting", "restart", "", 0, 0),
		ev(5090, "web", "service", "starting", "ready", "restart", store.RunReady, 90*ms, 100*ms),
		// save 2: 200ms; the test task fails
		ev(9000, "web", "service", "ready", "starting", "restart", "", 0, 0),
		ev(9010, "test", "task", "ready", "starting", "task", "", 0, 0),
		ev(9190, "web", "service", "starting", "ready", "restart", store.RunReady, 190*ms, 200*ms),
		ev(9500, "test", "task", "starting", "failed", "task", store.RunFailed, 490*ms, 0),
		// web crashes and comes back
		ev(20000, "web", "service", "ready", "crashed", "restart", store.RunCrashed, 10*time.Second, 0),
		ev(20500, "web", "service", "crashed", "starting", "restart", "", 0, 0),
		ev(21000, "web", "service", "starting", "ready", "restart", store.RunReady, 500*ms, 0),
		// save 3: 400ms
		ev(30000, "web", "service", "ready", "starting", "restart", "", 0, 0),
		ev(30390, "web", "service", "starting", "ready", "restart", store.RunReady, 390*ms, 400*ms),
	}
}

func TestStats_KnownSequence(t *testing.T) {
	ms := time.Millisecond
	week := 7 * 24 * time.Hour
	in := Input{
		Since: t0.Add(-week), Until: t0.Add(week), Events: knownSequence(), Targets: DefaultTargets,
		Ships: []store.Ship{
			{Project: "shop", Service: "web", Outcome: store.OutcomeShipped, CommitTime: at(0), Finished: at(0).Add(time.Hour)},
			{Project: "shop", Service: "web", Outcome: store.OutcomeShipped, CommitTime: at(0), Finished: at(0).Add(3 * time.Hour)},
			{Project: "shop", Service: "web", Outcome: store.OutcomeShipped, CommitTime: at(0), Finished: at(0).Add(2 * time.Hour)},
			{Project: "shop", Service: "web", Outcome: store.OutcomeFailed},
			{Project: "shop", Service: "web", Outcome: store.OutcomeDryRun},
		},
		Feedback: []store.Feedback{{Score: 10}, {Score: 9}, {Score: 8}, {Score: 3}},
		Beats: []store.Beat{
			{Time: at(0), Boot: "a", Kind: store.BeatStart},
			{Time: at(0).Add(99 * time.Minute), Boot: "a", Kind: store.BeatAlive}, // then it crashed
			{Time: at(0).Add(100 * time.Minute), Boot: "b", Kind: store.BeatStart},
			{Time: at(0).Add(101 * time.Minute), Boot: "b", Kind: store.BeatStop},
		},
	}
	st := Compute(in)
	want := []api.ResourceStats{
		{Project: "shop", Resource: "test", Runs: 2, Failures: 1, SuccessRate: 0.5},
		{Project: "shop", Resource: "web", Runs: 5, Failures: 1, SuccessRate: 0.8, Restarts: 4, Crashes: 1,
			SaveToLive: api.Percentiles{Count: 3, P50: 200 * ms, P95: 400 * ms, Max: 400 * ms, Sum: 700 * ms}},
	}
	if len(st.Resources) != len(want) {
		t.Fatalf("resources = %+v, want %+v", st.Resources, want)
	}
	for i := range want {
		if st.Resources[i] != want[i] {
			t.Errorf("resource %d:\n got %+v\nwant %+v", i, st.Resources[i], want[i])
		}
	}
	if got := st.TimeToFirstReady; got.Count != 1 || got.P50 != 1500*ms {
		t.Errorf("time to first ready = %+v, want one sample of 1.5s", got)
	}
	if st.Deploys != 3 || st.FailedShips != 1 || st.ChangeFailRate != 0.25 {
		t.Errorf("deploys %d, failed %d, change failure rate %v; want 3, 1, 0.25", st.Deploys, st.FailedShips, st.ChangeFailRate)
	}
	if st.DeploysPerWeek != 1.5 {
		t.Errorf("deploys/week = %v, want 1.5 (3 over two weeks)", st.DeploysPerWeek)
	}
	if got := st.LeadTime; got.Count != 3 || got.P50 != 2*time.Hour || got.P95 != 3*time.Hour {
		t.Errorf("lead time = %+v, want p50 2h, p95 3h", got)
	}
	if st.NPS == nil || st.NPS.Score != 25 || st.NPS.Promoters != 2 || st.NPS.Passives != 1 || st.NPS.Detractors != 1 {
		t.Errorf("NPS = %+v, want 25 (2 promoters, 1 passive, 1 detractor)", st.NPS)
	}
	slos := map[string]api.SLO{}
	for _, s := range st.SLOs {
		slos[s.Name] = s
	}
	// save-to-live: p95 400ms > 300ms; 1 of 3 samples slow = 33% of a 5% budget.
	if s := slos[SLOSaveToLive]; s.Met || s.Actual != 0.4 || !near(s.BudgetLeft, 1-(1.0/3)/0.05) {
		t.Errorf("save-to-live SLO = %+v", s)
	}
	// builds: 2 failures of 7 runs.
	if s := slos[SLOBuildSuccess]; s.Met || !near(s.Actual, 5.0/7) || !near(s.BudgetLeft, 1-(2.0/7)/0.05) {
		t.Errorf("build success SLO = %+v", s)
	}
	// availability: up 99m + 1m, down 1m (crash of a until b started).
	if s := slos[SLOAvailability]; !s.Met || !near(s.Actual, 100.0/101) || !near(s.BudgetLeft, 1-(1.0/101)/0.01) {
		t.Errorf("availability SLO = %+v", s)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestNPS(t *testing.T) {
	for _, tc := range []struct {
		scores []int
		want   float64
	}{
		{[]int{10, 10}, 100},
		{[]int{0, 6}, -100},
		{[]int{7, 8}, 0},
		{[]int{9, 6, 7}, 0},
		{[]int{9, 9, 9, 0}, 50},
	} {
		var fbs []store.Feedback
		for _, s := range tc.scores {
			fbs = append(fbs, store.Feedback{Score: s})
		}
		if got := NPS(fbs); got == nil || !near(got.Score, tc.want) || got.Responses != len(tc.scores) {
			t.Errorf("NPS(%v) = %+v, want score %v", tc.scores, got, tc.want)
		}
	}
	if got := NPS(nil); got != nil {
		t.Errorf("NPS(nil) = %+v, want nil", got)
	}
}

func TestParseTargets(t *testing.T) {
	for in, want := range map[string]time.Duration{"0.5": 500 * time.Millisecond, "300ms": 300 * time.Millisecond} {
		if got, err := ParseLatency(in); err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]float64{"0.9": 0.9, "90%": 0.9, "1": 1} {
		if got, err := ParseRatio(in); err != nil || got != want {
			t.Errorf("ParseRatio(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1s", "0"} {
		if _, err := ParseLatency(in); err == nil {
			t.Errorf("ParseLatency(%q): no error", in)
		}
	}
	for _, in := range []string{"", "2", "0", "150%"} {
		if _, err := ParseRatio(in); err == nil {
			t.Errorf("ParseRatio(%q): no error", in)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := ParseWindow(in); err != nil || got != want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1d", "0h"} {
		if _, err := ParseWindow(in); err == nil {
			t.Errorf("ParseWindow(%q): no error", in)
		}
	}
}

func TestHistory(t *testing.T) {
	h := History(knownSequence())
	if len(h) != 8 {
		t.Fatalf("%d entries, want 8 (every run's end): %+v", len(h), h)
	}
	crash := h[5]
	if crash.Kind != "crash" || crash.Outcome != store.RunCrashed || !crash.Start.Equal(at(10000)) {
		t.Errorf("crash entry = %+v, want kind crash started 10s in", crash)
	}
}

// The /metrics text parses as the Prometheus exposition format.
func TestWritePrometheus_Parses(t *testing.T) {
	st := Compute(Input{Until: at(60000), Events: knownSequence(), Targets: DefaultTargets,
		Feedback: []store.Feedback{{Score: 9}}})
	st.Resources = append(st.Resources, api.ResourceStats{Project: `we"ird`, Resource: "a\\b", Runs: 1,
		SaveToLive: api.Percentiles{Count: 1, P50: time.Second, P95: time.Second, Max: time.Second, Sum: time.Second}})
	st.StoreErrors = 2
	st.PolicyExceptions = []api.PolicyException{{Project: "api", Rule: "base_images", Reason: "CUDA"}}
	var buf bytes.Buffer
	if err := WritePrometheus(&buf, st); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, buf.String())
	}
	for _, name := range []string{"loop_save_to_live_seconds", "loop_runs_total", "loop_failures_total", "loop_restarts_total",
		"loop_deploys_total", "loop_store_errors_total", "loop_slo_budget_remaining", "loop_nps"} {
		if fams[name] == nil {
			t.Errorf("no %s family", name)
		}
	}
	if got := fams["loop_store_errors_total"].GetMetric()[0].GetCounter().GetValue(); got != 2 {
		t.Errorf("loop_store_errors_total = %v, want 2", got)
	}
	if m := fams["loop_policy_exceptions"].GetMetric(); len(m) != 1 || m[0].GetGauge().GetValue() != 1 || len(m[0].GetLabel()) != 2 {
		t.Errorf("loop_policy_exceptions = %v, want one gauge of 1 with project and rule", m)
	}
	if got := len(fams["loop_slo_budget_remaining"].GetMetric()); got != 3 {
		t.Errorf("%d SLO budgets, want 3", got)
	}
}
