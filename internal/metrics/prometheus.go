package metrics

import (
	"fmt"
	"io"
	"strings"

	"github.com/loopdev/loop/api"
)

// WritePrometheus renders st in the Prometheus text exposition format
// (version 0.0.4). Counters count over the window of st (the retained
// history for /metrics): pruning old rows lowers them, which Prometheus
// treats as a counter reset.
func WritePrometheus(w io.Writer, st api.Stats) error {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("loop_save_to_live_seconds", "summary", "File save to the resource being ready again.")
	for _, r := range st.Resources {
		if r.SaveToLive.Count == 0 {
			continue
		}
		l := labels("project", r.Project, "resource", r.Resource)
		fmt.Fprintf(&b, "loop_save_to_live_seconds{%s,quantile=\"0.5\"} %g\n", l, r.SaveToLive.P50.Seconds())
		fmt.Fprintf(&b, "loop_save_to_live_seconds{%s,quantile=\"0.95\"} %g\n", l, r.SaveToLive.P95.Seconds())
		fmt.Fprintf(&b, "loop_save_to_live_seconds_sum{%s} %g\n", l, r.SaveToLive.Sum.Seconds())
		fmt.Fprintf(&b, "loop_save_to_live_seconds_count{%s} %d\n", l, r.SaveToLive.Count)
	}
	for _, c := range []struct {
		name, help string
		value      func(api.ResourceStats) int
	}{
		{"loop_runs_total", "Runs: builds, task runs and service starts.", func(r api.ResourceStats) int { return r.Runs }},
		{"loop_failures_total", "Failed runs: failed tasks and builds, crashed services.", func(r api.ResourceStats) int { return r.Failures }},
		{"loop_restarts_total", "Starts of a resource that had been running.", func(r api.ResourceStats) int { return r.Restarts }},
		{"loop_crashes_total", "Services that exited on their own.", func(r api.ResourceStats) int { return r.Crashes }},
	} {
		family(c.name, "counter", c.help)
		for _, r := range st.Resources {
			fmt.Fprintf(&b, "%s{%s} %d\n", c.name, labels("project", r.Project, "resource", r.Resource), c.value(r))
		}
	}
	family("loop_deploys_total", "counter", "Successful `loop ship` attempts.")
	fmt.Fprintf(&b, "loop_deploys_total %d\n", st.Deploys)
	family("loop_deploy_failures_total", "counter", "Failed `loop ship` attempts.")
	fmt.Fprintf(&b, "loop_deploy_failures_total %d\n", st.FailedShips)
	family("loop_store_errors_total", "counter", "Failed writes to the metrics store since loopd started.")
	fmt.Fprintf(&b, "loop_store_errors_total %d\n", st.StoreErrors)
	family("loop_slo_budget_remaining", "gauge", "Error budget left per SLO: 1 untouched, 0 spent, negative overspent.")
	for _, s := range st.SLOs {
		fmt.Fprintf(&b, "loop_slo_budget_remaining{%s} %g\n", labels("slo", s.Name), s.BudgetLeft)
	}
	family("loop_slo_actual", "gauge", "Each SLO's measured value (seconds or ratio, as its target).")
	for _, s := range st.SLOs {
		fmt.Fprintf(&b, "loop_slo_actual{%s} %g\n", labels("slo", s.Name), s.Actual)
	}
	family("loop_policy_exceptions", "gauge", "Active policy_exception()s of the projects up, by rule (docs/config.md).")
	for _, e := range st.PolicyExceptions {
		fmt.Fprintf(&b, "loop_policy_exceptions{%s} 1\n", labels("project", e.Project, "rule", e.Rule))
	}
	if st.NPS != nil {
		family("loop_nps", "gauge", "Net Promoter Score of `loop feedback` answers (-100..100).")
		fmt.Fprintf(&b, "loop_nps %g\n", st.NPS.Score)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labels renders name/value pairs as a label set (without braces).
func labels(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+`="`+labelEscaper.Replace(kv[i+1])+`"`)
	}
	return strings.Join(parts, ",")
}
