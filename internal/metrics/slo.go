package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

// Targets are the SLO targets; package config reads them (config files,
// a project's slo_targets(), LOOP_SLO_* variables).
type Targets struct {
	SaveToLiveP95 time.Duration
	BuildSuccess  float64 // a ratio
	Availability  float64 // a ratio
}

// DefaultTargets are the targets without configuration.
var DefaultTargets = Targets{SaveToLiveP95: 300 * time.Millisecond, BuildSuccess: 0.95, Availability: 0.99}

// SLO names.
const (
	SLOSaveToLive   = "save-to-live p95"
	SLOBuildSuccess = "build success"
	SLOAvailability = "daemon availability"
)

// ParseLatency reads a latency target: a duration ("300ms") or seconds
// ("0.3"), positive.
func ParseLatency(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil { // plain seconds: "0.3"
		f, ferr := strconv.ParseFloat(s, 64)
		d, err = time.Duration(f*float64(time.Second)), ferr
	}
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration (300ms) or seconds (0.3)")
	}
	return d, nil
}

// ParseRatio reads a ratio target: "0.95" or "95%", in (0, 1].
func ParseRatio(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		f /= 100
	}
	if err != nil || f <= 0 || f > 1 {
		return 0, errors.New("want a ratio in (0, 1] such as 0.95, or a percentage such as 95%")
	}
	return f, nil
}

// ParseWindow reads a window length: "7d", "2w" or a Go duration ("36h").
func ParseWindow(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil || f <= 0 {
				return 0, fmt.Errorf("window %q: want a positive number of days (7d), weeks (2w) or a duration (36h)", s)
			}
			return time.Duration(f * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("window %q: want a positive number of days (7d), weeks (2w) or a duration (36h)", s)
	}
	return d, nil
}

// SLOs evaluates loop's three SLOs. Each has an error budget: the share
// of bad events the target allows (5% of saves slower than the latency
// target for a p95; 1-target of runs or of time for the ratios). Budget
// left is 1 - spent/allowed: 1 untouched, 0 spent, negative overspent.
// Without data an SLO is met with its budget untouched.
func SLOs(t Targets, saveToLive []time.Duration, runs, failures int, availability float64) []api.SLO {
	latency := api.SLO{
		Name: SLOSaveToLive, Target: t.SaveToLiveP95.Seconds(), Unit: "seconds", Met: true, BudgetLeft: 1,
		Description: fmt.Sprintf("95%% of changes are live within %s of the save (%d samples)", t.SaveToLiveP95, len(saveToLive)),
	}
	if n := len(saveToLive); n > 0 {
		slow := 0
		for _, d := range saveToLive {
			if d > t.SaveToLiveP95 {
				slow++
			}
		}
		latency.Actual = Percentile(saveToLive).P95.Seconds()
		latency.Met = latency.Actual <= latency.Target
		latency.BudgetLeft = budget(float64(slow)/float64(n), 0.05)
	}
	build := api.SLO{
		Name: SLOBuildSuccess, Target: t.BuildSuccess, Unit: "ratio", Actual: 1, Met: true, BudgetLeft: 1,
		Description: fmt.Sprintf("builds, task runs and service starts succeed (%d runs, %d failed)", runs, failures),
	}
	if runs > 0 {
		build.Actual = math.Max(0, 1-float64(failures)/float64(runs))
		build.Met = build.Actual >= build.Target
		build.BudgetLeft = budget(1-build.Actual, 1-build.Target)
	}
	avail := api.SLO{
		Name: SLOAvailability, Target: t.Availability, Unit: "ratio", Actual: availability,
		Met: availability >= t.Availability, BudgetLeft: budget(1-availability, 1-t.Availability),
		Description: "loopd is up from its start until a clean stop (a crash counts as down until it is back, at most an hour)",
	}
	return []api.SLO{latency, build, avail}
}

// budget is the error budget left when bad/total of the allowed share is used.
func budget(spent, allowed float64) float64 {
	if allowed <= 0 {
		if spent <= 0 {
			return 1
		}
		return -1
	}
	return 1 - spent/allowed
}

// maxOutage caps what one crash of loopd counts as down: a daemon that
// crashed overnight was not missed all night (the next `loop up` starts it).
const maxOutage = time.Hour

// Availability is loopd's availability from its heartbeats: time up is the
// span of each daemon run (start to its last heartbeat); time down is, for
// each run that ended without a clean stop and was followed by another,
// the gap until that next start (at most maxOutage). 1 without data.
func Availability(beats []store.Beat) float64 {
	type run struct {
		first, last time.Time
		stopped     bool
	}
	var runs []*run
	byBoot := map[string]*run{}
	for _, b := range beats {
		r := byBoot[b.Boot]
		if r == nil {
			r = &run{first: b.Time}
			byBoot[b.Boot] = r
			runs = append(runs, r)
		}
		r.last = b.Time
		if b.Kind == store.BeatStop {
			r.stopped = true
		}
	}
	var up, down time.Duration
	for i, r := range runs {
		up += r.last.Sub(r.first)
		if !r.stopped && i+1 < len(runs) {
			down += min(max(0, runs[i+1].first.Sub(r.last)), maxOutage)
		}
	}
	if up+down <= 0 {
		return 1
	}
	return float64(up) / float64(up+down)
}
