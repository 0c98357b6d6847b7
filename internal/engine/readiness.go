package engine

// Readiness: a service with a readiness probe is starting until the probe
// first passes (probeLoop polls fast, backing off to the probe's period),
// then ready. While it is ready the same probe keeps running (watchLoop,
// one check per period, no more often than once per ReadyProbePeriod): a
// service that still runs but stops answering — stopped with SIGSTOP,
// deadlocked, swapping — becomes unresponsive after UnresponsiveAfter
// failed checks in a row, and ready again when a check passes. loop never
// restarts an unresponsive service by itself: the user decides (`loop
// restart`), since killing a process that is only slow loses its state.
//
// Both loops run on their own goroutine, one per resource at most, owned
// by r.probeCancel: every path that stops, restarts or updates a resource
// cancels it (cancelProbe). A result is applied on the loop goroutine only
// if that probe's context is still live, so a late result of a cancelled
// probe never touches the resource's next run.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/isolate"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/probe"
	"github.com/loopdev/loop/internal/runtime"
)

// Continuous probing of ready services.
const (
	// UnresponsiveAfter is how many readiness checks in a row a ready
	// service must fail to become unresponsive.
	UnresponsiveAfter = 3
	// DefaultReadyProbePeriod is the shortest interval between two checks
	// of a ready service (Config.ReadyProbePeriod): a probe's period (100ms
	// by default) is chosen to notice a start quickly, and probing every
	// ready service that often would cost CPU at idle.
	DefaultReadyProbePeriod = time.Second
	// firstProbeInterval is the first interval of the start-up poll, which
	// doubles up to the probe's period: small, since a restarted dev
	// server is often up in a few milliseconds and every check of one
	// that is not is a refused connection (microseconds).
	firstProbeInterval = 500 * time.Microsecond
	// DefaultSlowReady is how long a container may fail its readiness
	// probe before its engine's own warnings are looked at (engineHint).
	DefaultSlowReady = 10 * time.Second
)

// awaitReady marks r ready now (no probe) or once its probe passes.
func (e *Engine) awaitReady(r *res, gen int, env []string) {
	if r.spec.Readiness == nil {
		r.checker = nil
		e.ready(r, gen)
		return
	}
	r.checker = e.checker(r, env)
	c := r.checker
	r.startProbe(func(ctx context.Context) {
		defer isolate.Recover("a readiness probe", func(p *isolate.Panic) { e.send(func() { e.panicked(p) }) })
		e.probeLoop(ctx, c, r, gen)
	})
}

// startProbe runs loop on a goroutine of its own until cancelProbe, after
// cancelling the one before; r.probeDone is closed when it returns.
func (r *res) startProbe(loop func(ctx context.Context)) {
	r.cancelProbe()
	ctx, cancel := context.WithCancel(r.stepContext())
	done := make(chan struct{})
	r.probeCancel, r.probeDone = cancel, done
	go func() {
		defer close(done)
		loop(ctx)
	}()
}

// probeLoop polls quickly at first (a restarted dev server is usually up in
// milliseconds), backing off to the probe's period.
func (e *Engine) probeLoop(ctx context.Context, c probe.Checker, r *res, gen int) {
	period := r.spec.Readiness.Period
	interval := firstProbeInterval
	start, hinted := time.Now(), false
	for {
		err := e.contained("probe "+r.spec.Name, func() error { return c.Check(ctx) })
		if err != nil && !hinted && time.Since(start) >= e.cfg.SlowReady {
			hinted = true
			e.engineHint(ctx, r, err)
		}
		if err == nil {
			e.send(func() {
				if ctx.Err() == nil {
					e.ready(r, gen)
				}
			})
			return
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if interval *= 2; interval > period {
			interval = period
		}
	}
}

// engineHint says, in the reason of a container that has not answered its
// readiness probe for Config.SlowReady, what its engine warns about itself, if
// anything: with IPv4 forwarding off, published ports never answer, and
// "starting" alone would blame the service. Called from the probe loop.
func (e *Engine) engineHint(ctx context.Context, r *res, probeErr error) {
	w, ok := e.cfg.Containers.(runtime.EngineWarner)
	if !ok || r.spec.Kind != model.KindContainer {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var warnings []string
	err := e.contained("engine warnings", func() (err error) { warnings, err = w.EngineWarnings(wctx); return err })
	if err != nil || len(warnings) == 0 {
		return
	}
	reason := fmt.Sprintf("not ready after %s (%v); the container engine warns: %s", e.cfg.SlowReady, probeErr, strings.Join(warnings, " "))
	e.send(func() {
		if ctx.Err() == nil && r.state == api.StateStarting {
			r.setState(api.StateStarting, reason)
			e.logf(r, "%s", reason)
		}
	})
}

// watchReady keeps probing r, which just became ready, at its probe's
// period (at least Config.ReadyProbePeriod); nothing for a resource
// without a probe or one that runs to completion.
func (e *Engine) watchReady(r *res, gen int) {
	r.cancelProbe()
	if r.spec.Readiness == nil || r.checker == nil || r.spec.RunsToCompletion() {
		return
	}
	period := max(r.spec.Readiness.Period, e.cfg.ReadyProbePeriod)
	c := r.checker
	r.startProbe(func(ctx context.Context) {
		defer isolate.Recover("a readiness probe", func(p *isolate.Panic) { e.send(func() { e.panicked(p) }) })
		e.watchLoop(ctx, c, r, gen, period)
	})
}

// watchLoop runs one check per period until ctx ends. It reports to the
// loop goroutine only on a change: the UnresponsiveAfter-th failure in a
// row (and a different error after it), and the first pass after that.
func (e *Engine) watchLoop(ctx context.Context, c probe.Checker, r *res, gen int, period time.Duration) {
	t := time.NewTimer(period)
	defer t.Stop()
	var (
		fails     int
		firstFail time.Time
		reported  string // the error last reported; "" while responsive
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := time.Now()
		err := e.contained("probe "+r.spec.Name, func() error { return c.Check(ctx) })
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && reported != "":
			fails, reported = 0, ""
			since := firstFail
			e.send(func() {
				if ctx.Err() == nil {
					e.responsive(r, gen, since)
				}
			})
		case err == nil:
			fails = 0
		default:
			if fails++; fails == 1 {
				firstFail = at
			}
			if fails >= UnresponsiveAfter && err.Error() != reported {
				reported = err.Error()
				n, since := fails, firstFail
				e.send(func() {
					if ctx.Err() == nil {
						e.unresponsive(r, gen, err, n, since)
					}
				})
			}
		}
		t.Reset(period)
	}
}

// unresponsive marks a ready service whose probe failed n times in a row
// since since, with err the last failure.
func (e *Engine) unresponsive(r *res, gen int, err error, n int, since time.Time) {
	if gen != r.gen || r.handle == nil || r.stopping || r.updating || r.phase != running {
		return
	}
	if r.state != api.StateReady && r.state != api.StateUnresponsive {
		return
	}
	first := r.state == api.StateReady
	r.setState(api.StateUnresponsive, fmt.Sprintf(
		"not answering its readiness probe since %s (%d checks failed): %v; loop leaves it running: `loop restart %s` restarts it, `loop logs %s` shows its output",
		since.Format(time.TimeOnly), n, err, r.spec.Name, r.spec.Name))
	if first {
		e.logf(r, "unresponsive: %d readiness checks failed in a row since %s, the last: %v (not restarting it: `loop restart %s` does)",
			n, since.Format(time.TimeOnly), err, r.spec.Name)
	}
}

// responsive marks an unresponsive service ready again: its probe passed.
func (e *Engine) responsive(r *res, gen int, since time.Time) {
	if gen != r.gen || r.handle == nil || r.stopping || r.updating || r.state != api.StateUnresponsive {
		return
	}
	d := roundDur(time.Since(since))
	r.setState(api.StateReady, "answering its readiness probe again after "+d)
	e.logf(r, "answering its readiness probe again after %s", d)
}
