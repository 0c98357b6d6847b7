package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/store"
)

// Every metric sent, with its attributes (docs/metrics.md, "What leaves
// the machine", lists the same; Prometheus names in brackets):
//
//	loop.save_to_live        histogram, s   project, resource, kind   [loop_save_to_live_seconds]
//	loop.runs                counter        project, resource, kind, run  [loop_runs_total]
//	loop.failures            counter        project, resource, kind, outcome  [loop_failures_total]
//	loop.restarts            counter        project, resource, kind   [loop_restarts_total]
//	loop.time_to_first_ready histogram, s   project                   [loop_time_to_first_ready_seconds]
//	loop.deploys             counter        project, resource, outcome  [loop_deploys_total]
//	loop.lead_time           histogram, s   project, resource         [loop_lead_time_seconds]
//	loop.feedback.answers    counter        category                  [loop_feedback_answers_total]
//	loop.feedback.score      histogram      (none)                    [loop_feedback_score]
//	loop.policy.exceptions   gauge          project                   [loop_policy_exceptions]
//
// project and resource are salted hashes unless Config.ProjectNames;
// kind is service, task or container; run is start, restart, update or
// task; a failure's outcome is failed or crashed; a deploy's shipped,
// failed or dry-run; category is promoter, passive or detractor.
const (
	nameSaveToLive  = "loop.save_to_live"
	nameRuns        = "loop.runs"
	nameFailures    = "loop.failures"
	nameRestarts    = "loop.restarts"
	nameFirstReady  = "loop.time_to_first_ready"
	nameDeploys     = "loop.deploys"
	nameLeadTime    = "loop.lead_time"
	nameAnswers     = "loop.feedback.answers"
	nameScore       = "loop.feedback.score"
	namePolicyExcep = "loop.policy.exceptions"
)

// Attribute keys.
const (
	attrProject  = "project"
	attrResource = "resource"
	attrKind     = "kind"
	attrRun      = "run"
	attrOutcome  = "outcome"
	attrCategory = "category"
)

// Bucket boundaries, in the instrument's unit (the SDK's default ones
// suit none of the histograms).
var (
	// 5 ms .. 30 s: a live update is tens of milliseconds, a rebuild seconds.
	saveToLiveBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// 100 ms .. 10 min: a process starts in a second, images build in minutes.
	firstReadyBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	// 1 min .. 4 weeks.
	leadTimeBuckets = []float64{60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600, 28 * 24 * 3600}
	// One bucket per score 0..10: le="6" counts the detractors.
	scoreBuckets = []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
)

type instruments struct {
	saveToLive, firstReady, leadTime metric.Float64Histogram
	score                            metric.Int64Histogram
	runs, failures, restarts         metric.Int64Counter
	deploys, answers                 metric.Int64Counter
}

// newInstruments creates every instrument on m; policy, when not nil,
// feeds the policy exceptions gauge.
func newInstruments(m metric.Meter, policy metric.Int64Callback) (instruments, error) {
	var in instruments
	var errs [10]error
	in.saveToLive, errs[0] = m.Float64Histogram(nameSaveToLive, metric.WithUnit("s"),
		metric.WithDescription("File save to the resource being ready again."), metric.WithExplicitBucketBoundaries(saveToLiveBuckets...))
	in.runs, errs[1] = m.Int64Counter(nameRuns, metric.WithUnit("{run}"),
		metric.WithDescription("Runs: builds, task runs and service starts."))
	in.failures, errs[2] = m.Int64Counter(nameFailures, metric.WithUnit("{run}"),
		metric.WithDescription("Failed runs: failed tasks and starts, crashed services."))
	in.restarts, errs[3] = m.Int64Counter(nameRestarts, metric.WithUnit("{run}"),
		metric.WithDescription("Starts of a resource that had been ready, crashed or failed."))
	in.firstReady, errs[4] = m.Float64Histogram(nameFirstReady, metric.WithUnit("s"),
		metric.WithDescription("loop up of a project to every resource being ready."), metric.WithExplicitBucketBoundaries(firstReadyBuckets...))
	in.deploys, errs[5] = m.Int64Counter(nameDeploys, metric.WithUnit("{deploy}"),
		metric.WithDescription("loop ship attempts by outcome."))
	in.leadTime, errs[6] = m.Float64Histogram(nameLeadTime, metric.WithUnit("s"),
		metric.WithDescription("Commit to ship finished, of shipped attempts."), metric.WithExplicitBucketBoundaries(leadTimeBuckets...))
	in.answers, errs[7] = m.Int64Counter(nameAnswers, metric.WithUnit("{answer}"),
		metric.WithDescription("loop feedback answers by NPS category."))
	in.score, errs[8] = m.Int64Histogram(nameScore, metric.WithUnit("{score}"),
		metric.WithDescription("loop feedback scores (0-10)."), metric.WithExplicitBucketBoundaries(scoreBuckets...))
	if policy != nil {
		_, errs[9] = m.Int64ObservableGauge(namePolicyExcep, metric.WithUnit("{exception}"),
			metric.WithDescription("Policy exceptions in force."), metric.WithInt64Callback(policy))
	}
	for _, err := range errs {
		if err != nil {
			return instruments{}, err
		}
	}
	return in, nil
}

// name is what is sent for a project or resource name.
func (x *Exporter) name(n string) string {
	if x.cfg.ProjectNames {
		return n
	}
	return x.id.Hash(n)
}

// Event records one row of the event log (what the recorder stores).
func (x *Exporter) Event(e store.Event) {
	if x == nil {
		return
	}
	ctx := context.Background()
	if c := metrics.Classify(e); c != (metrics.Run{}) {
		res := []attribute.KeyValue{
			attribute.String(attrProject, x.name(e.Project)),
			attribute.String(attrResource, x.name(e.Resource)),
			attribute.String(attrKind, e.ResourceKind),
		}
		if c.Start {
			x.inst.runs.Add(ctx, 1, metric.WithAttributes(append(res, attribute.String(attrRun, e.Run))...))
		}
		if c.Restart {
			x.inst.restarts.Add(ctx, 1, metric.WithAttributes(res...))
		}
		if c.Failure {
			x.inst.failures.Add(ctx, 1, metric.WithAttributes(append(res, attribute.String(attrOutcome, e.Outcome))...))
		}
		if c.SaveToLive > 0 {
			x.inst.saveToLive.Record(ctx, c.SaveToLive.Seconds(), metric.WithAttributes(res...))
		}
	}
	x.mu.Lock()
	d, ok := x.firstReady.Add(e)
	x.mu.Unlock()
	if ok {
		x.inst.firstReady.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String(attrProject, x.name(e.Project))))
	}
}

// Ship records one `loop ship` attempt.
func (x *Exporter) Ship(sh store.Ship) {
	if x == nil {
		return
	}
	ctx := context.Background()
	res := []attribute.KeyValue{attribute.String(attrProject, x.name(sh.Project)), attribute.String(attrResource, x.name(sh.Service))}
	x.inst.deploys.Add(ctx, 1, metric.WithAttributes(append(res, attribute.String(attrOutcome, sh.Outcome))...))
	if d, ok := metrics.LeadTime(sh); ok {
		x.inst.leadTime.Record(ctx, d.Seconds(), metric.WithAttributes(res...))
	}
}

// Feedback records one `loop feedback` answer: its score, never its
// comment.
func (x *Exporter) Feedback(score int) {
	if x == nil {
		return
	}
	ctx := context.Background()
	x.inst.answers.Add(ctx, 1, metric.WithAttributes(attribute.String(attrCategory, metrics.NPSCategory(score))))
	x.inst.score.Record(ctx, int64(score))
}

// policyCallback adapts the integrator's count function to the gauge.
func (x *Exporter) policyCallback(count func() map[string]int64) metric.Int64Callback {
	if count == nil {
		return nil
	}
	return func(_ context.Context, o metric.Int64Observer) error {
		for project, n := range count() {
			o.Observe(n, metric.WithAttributes(attribute.String(attrProject, x.name(project))))
		}
		return nil
	}
}
