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

// Run is what one stored event counts for: the one definition of runs,
// failures, restarts, crashes and save-to-live samples, shared by Resources
// and the live OTLP export (package telemetry).
type Run struct {
	Start      bool          // a run: a start (a transition into starting)
	Restart    bool          // a start of a resource that had been ready, crashed or failed
	Failure    bool          // a task's failed run, a service's crash or failed start
	Crash      bool          // a service that exited on its own
	SaveToLive time.Duration // > 0: a ready that made a file change live
}

// Classify says what e counts for (nothing for project events and
// reason-only changes):
//   - a run is a start (a transition into starting);
//   - a task's failure is a failed run (failed right after starting);
//   - a service's failure is a crash or a start that failed;
//   - a restart is a start of a resource that had been ready, crashed or
//     failed (a change, `loop restart`, a dependency re-ran, a crash);
//   - save-to-live samples come from ready events that made a file change
//     live.
func Classify(e store.Event) Run {
	if e.Resource == "" || e.Kind != "resource" {
		return Run{}
	}
	switch {
	case e.State == api.StateStarting:
		return Run{Start: true, Restart: e.Run == "restart"}
	case e.Outcome == store.RunCrashed:
		return Run{Failure: true, Crash: true}
	case e.Outcome == store.RunFailed && e.PrevState == api.StateStarting:
		return Run{Failure: true}
	case e.Outcome == store.RunReady && e.SaveToLive > 0:
		return Run{SaveToLive: e.SaveToLive}
	}
	return Run{}
}

// Resources computes each resource's inner-loop figures (see Classify),
// sorted by project and resource.
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
		c := Classify(e)
		if c.Start {
			rs.Runs++
		}
		if c.Restart {
			rs.Restarts++
		}
		if c.Crash {
			rs.Crashes++
		}
		if c.Failure {
			rs.Failures++
		}
		if c.SaveToLive > 0 {
			samples[k] = append(samples[k], c.SaveToLive)
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
	var fr FirstReady
	var samples []time.Duration
	for _, e := range evs {
		if d, ok := fr.Add(e); ok {
			samples = append(samples, d)
		}
	}
	return Percentile(samples)
}

// FirstReady follows events one at a time, oldest first, and says when
// an up is first ready (TimeToFirstReady's rule), for a live reader such
// as the OTLP export. The zero value is ready to use; it is not safe for
// concurrent use.
type FirstReady struct {
	ups map[string]*firstReadyUp // by project
}

type firstReadyUp struct {
	start  time.Time
	upSeen bool
	done   bool
	states map[string]string
}

// Add takes the next event and returns the time to first ready when e
// completes an up.
func (f *FirstReady) Add(e store.Event) (time.Duration, bool) {
	if f.ups == nil {
		f.ups = map[string]*firstReadyUp{}
	}
	if e.Kind == "removed" {
		delete(f.ups, e.Project)
		return 0, false
	}
	u := f.ups[e.Project]
	if u == nil {
		u = &firstReadyUp{start: e.Time, states: map[string]string{}}
		f.ups[e.Project] = u
	}
	switch {
	case e.Kind == "resource" && e.Resource != "":
		u.states[e.Resource] = e.State
	case e.Kind == "project" && e.Reason == "project up":
		u.upSeen = true
	}
	if !u.upSeen || u.done {
		return 0, false
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
		return e.Time.Sub(u.start), true
	}
	return 0, false
}

// ships counts shipped and failed attempts (dry runs are neither) and
// returns the lead times (commit -> ship finished) of the shipped ones.
func ships(shs []store.Ship) (shipped, failed int, lead []time.Duration) {
	for _, sh := range shs {
		switch sh.Outcome {
		case store.OutcomeShipped:
			shipped++
		case store.OutcomeFailed:
			failed++
		}
		if d, ok := LeadTime(sh); ok {
			lead = append(lead, d)
		}
	}
	return shipped, failed, lead
}

// LeadTime is a shipped attempt's lead time, commit -> ship finished;
// false for other outcomes and for attempts without both times.
func LeadTime(sh store.Ship) (time.Duration, bool) {
	if sh.Outcome != store.OutcomeShipped || sh.CommitTime.IsZero() || sh.Finished.IsZero() || !sh.Finished.After(sh.CommitTime) {
		return 0, false
	}
	return sh.Finished.Sub(sh.CommitTime), true
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
		switch NPSCategory(f.Score) {
		case Promoter:
			n.Promoters++
		case Passive:
			n.Passives++
		default:
			n.Detractors++
		}
	}
	n.Score = 100 * float64(n.Promoters-n.Detractors) / float64(n.Responses)
	return n
}

// NPS categories of a score.
const (
	Promoter  = "promoter"  // 9-10
	Passive   = "passive"   // 7-8
	Detractor = "detractor" // 0-6
)

// NPSCategory names the category of a 0-10 answer.
func NPSCategory(score int) string {
	switch {
	case score >= 9:
		return Promoter
	case score >= 7:
		return Passive
	}
	return Detractor
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
