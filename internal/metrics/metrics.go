// Package metrics turns the rows of the store (loopd's event log, ship
// records, feedback answers, daemon heartbeats) into the platform metrics
// of api.Stats: inner-loop figures per resource (save-to-live, runs,
// failures, restarts), time to first ready, the DORA figures of `loop
// ship` (deployment frequency, lead time, change failure rate), loop's own
// SLOs with their error budgets, and NPS.
//
// Everything here is a pure function of its input: the daemon reads the
// rows and renders the result as JSON (/v1/stats) or Prometheus text
// (/metrics). docs/metrics.md explains each figure.
package metrics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

// Input is what Compute reads: the rows of a window [Since, Until].
type Input struct {
	Since, Until time.Time
	Events       []store.Event // oldest first
	Ships        []store.Ship
	Feedback     []store.Feedback
	Beats        []store.Beat // oldest first
	Targets      Targets
}

// Compute derives the platform metrics of a window.
func Compute(in Input) api.Stats {
	st := api.Stats{Since: in.Since, Until: in.Until}
	st.Resources = Resources(in.Events)
	st.TimeToFirstReady = TimeToFirstReady(in.Events)
	shipped, failed, lead := ships(in.Ships)
	st.Deploys, st.FailedShips = shipped, failed
	st.LeadTime = Percentile(lead)
	if shipped+failed > 0 {
		st.ChangeFailRate = float64(failed) / float64(shipped+failed)
	}
	since := in.Since
	if since.IsZero() && len(in.Ships) > 0 {
		since = slices.MinFunc(in.Ships, func(a, b store.Ship) int { return a.Started.Compare(b.Started) }).Started
	}
	if weeks := in.Until.Sub(since).Hours() / (24 * 7); weeks > 0 {
		st.DeploysPerWeek = float64(shipped) / weeks
	}
	var stl []time.Duration
	for _, e := range in.Events {
		if e.Outcome == store.RunReady && e.SaveToLive > 0 {
			stl = append(stl, e.SaveToLive)
		}
	}
	runs, failures := 0, 0
	for _, r := range st.Resources {
		runs += r.Runs
		failures += r.Failures
	}
	st.SLOs = SLOs(in.Targets, stl, runs, failures, Availability(in.Beats))
	st.NPS = NPS(in.Feedback)
	return st
}

// Resources computes each resource's inner-loop figures, sorted by
// project and resource:
//   - a run is a start (a transition into starting);
//   - a task's failure is a failed run (failed right after starting);
//   - a service's failure is a crash or a start that failed;
//   - a restart is a start of a resource that had been ready, crashed or
//     failed (a change, `loop restart`, a dependency re-ran, a crash);
//   - save-to-live samples come from ready events that made a file change
//     live.
func Resources(evs []store.Event) []api.ResourceStats {
	type key struct{ project, resource string }
	byRes := map[key]*api.ResourceStats{}
	samples := map[key][]time.Duration{}
	for _, e := range evs {
		if e.Resource == "" || e.Kind != "resource" {
			continue
		}
		k := key{e.Project, e.Resource}
		rs := byRes[k]
		if rs == nil {
			rs = &api.ResourceStats{Project: e.Project, Resource: e.Resource}
			byRes[k] = rs
		}
		switch {
		case e.State == api.StateStarting:
			rs.Runs++
			if e.Run == "restart" {
				rs.Restarts++
			}
		case e.Outcome == store.RunCrashed:
			rs.Crashes++
			rs.Failures++
		case e.Outcome == store.RunFailed && e.PrevState == api.StateStarting:
			rs.Failures++
		case e.Outcome == store.RunReady && e.SaveToLive > 0:
			samples[k] = append(samples[k], e.SaveToLive)
		}
	}
	out := make([]api.ResourceStats, 0, len(byRes))
	for k, rs := range byRes {
		rs.SaveToLive = Percentile(samples[k])
		if rs.Runs > 0 {
			rs.SuccessRate = math.Max(0, 1-float64(rs.Failures)/float64(rs.Runs))
		}
		out = append(out, *rs)
	}
	slices.SortFunc(out, func(a, b api.ResourceStats) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Resource, b.Resource))
	})
	return out
}

// TimeToFirstReady measures each `loop up` of a project that was not
// running, from its first event (the resources turning pending, just
// before the "project up" event) to the first moment every resource seen
// since then that is not disabled or stopped is ready. It is approximate:
// the resources are known from their events only, so a resource that has
// published nothing yet is not waited for; an up whose project goes down
// before it is ready is not counted.
func TimeToFirstReady(evs []store.Event) api.Percentiles {
	type up struct {
		start  time.Time
		upSeen bool
		done   bool
		states map[string]string
	}
	ups := map[string]*up{}
	var samples []time.Duration
	for _, e := range evs {
		if e.Kind == "removed" {
			delete(ups, e.Project)
			continue
		}
		u := ups[e.Project]
		if u == nil {
			u = &up{start: e.Time, states: map[string]string{}}
			ups[e.Project] = u
		}
		switch {
		case e.Kind == "resource" && e.Resource != "":
			u.states[e.Resource] = e.State
		case e.Kind == "project" && e.Reason == "project up":
			u.upSeen = true
		}
		if !u.upSeen || u.done {
			continue
		}
		ready, waiting := 0, 0
		for _, s := range u.states {
			switch s {
			case api.StateReady:
				ready++
			case api.StateDisabled, api.StateStopped:
			default:
				waiting++
			}
		}
		if ready > 0 && waiting == 0 {
			u.done = true
			samples = append(samples, e.Time.Sub(u.start))
		}
	}
	return Percentile(samples)
}

// ships counts shipped and failed attempts (dry runs are neither) and
// returns the lead times (commit -> ship finished) of the shipped ones.
func ships(shs []store.Ship) (shipped, failed int, lead []time.Duration) {
	for _, sh := range shs {
		switch sh.Outcome {
		case store.OutcomeShipped:
			shipped++
			if !sh.CommitTime.IsZero() && !sh.Finished.IsZero() && sh.Finished.After(sh.CommitTime) {
				lead = append(lead, sh.Finished.Sub(sh.CommitTime))
			}
		case store.OutcomeFailed:
			failed++
		}
	}
	return shipped, failed, lead
}

// Percentile summarises samples with nearest-rank percentiles.
func Percentile(samples []time.Duration) api.Percentiles {
	if len(samples) == 0 {
		return api.Percentiles{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	p := api.Percentiles{Count: len(s), P50: rank(s, 0.50), P95: rank(s, 0.95), Max: s[len(s)-1]}
	for _, d := range s {
		p.Sum += d
	}
	return p
}

// rank is the nearest-rank q-quantile of sorted s.
func rank(s []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// NPS is the Net Promoter Score of the answers: promoters score 9-10,
// passives 7-8, detractors 0-6; the score is the percentage of promoters
// minus that of detractors (-100..100). nil without answers.
func NPS(fbs []store.Feedback) *api.NPS {
	if len(fbs) == 0 {
		return nil
	}
	n := &api.NPS{Responses: len(fbs)}
	for _, f := range fbs {
		switch {
		case f.Score >= 9:
			n.Promoters++
		case f.Score >= 7:
			n.Passives++
		default:
			n.Detractors++
		}
	}
	n.Score = 100 * float64(n.Promoters-n.Detractors) / float64(n.Responses)
	return n
}

// History lists the runs that ended (events with an outcome), oldest
// first: when each started, how long it took and how it ended.
func History(evs []store.Event) []api.HistoryEntry {
	var out []api.HistoryEntry
	for _, e := range evs {
		if e.Outcome == "" || e.Resource == "" {
			continue
		}
		kind := e.Run
		if e.Outcome == store.RunCrashed {
			kind = "crash"
		}
		out = append(out, api.HistoryEntry{
			Project: e.Project, Resource: e.Resource, Kind: kind, Outcome: e.Outcome, Reason: e.Reason,
			Start: e.Time.Add(-e.Duration), Duration: e.Duration,
		})
	}
	return out
}
