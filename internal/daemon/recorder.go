package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/store"
	"github.com/loopdev/loop/internal/telemetry"
)

// The recorder writes the daemon's events to the store (package store)
// and the stats routes read them back through package metrics. A store
// that fails (a full disk, a read-only or closed file) never stops the
// daemon: the recorder logs and counts the error, keeps the rows it could
// not write (up to maxPending) and retries them with the next batch.

const (
	flushEvery      = 100 * time.Millisecond // one transaction per batch
	beatEvery       = time.Minute            // daemon heartbeats, for availability
	pruneEvery      = 24 * time.Hour
	maxPending      = 10000 // rows kept while the store fails; older ones are dropped
	defaultRetained = 30 * 24 * time.Hour
)

// recorder turns hub events into store rows. Its fields below mu are
// owned by the record goroutine and need no lock.
type recorder struct {
	store  *store.Store // nil: no store
	logger *slog.Logger
	tel    *telemetry.Exporter // nil: no export; gets every row the store does

	errs    atomic.Int64
	mu      sync.Mutex
	lastErr string
	failing time.Time // since when writes fail; zero once one succeeds

	boot     string
	last     map[resKey]resState // each resource's last recorded state
	pending  []store.Event
	loggedAt time.Time // of the last store error logged (at most one a minute)
}

type resKey struct{ project, resource string }

type resState struct {
	state      string
	since      time.Time // when it entered state
	run        string    // the kind of the current run ("start", "restart", "update", "task")
	started    time.Time // when the current run started
	saveToLive time.Duration
}

// recorder is the running recorder, or an empty one before record runs.
func (d *Daemon) recorder() *recorder {
	if r := d.rec.Load(); r != nil {
		return r
	}
	return &recorder{}
}

// record runs until ctx ends, writing the daemon's events to the store.
func (d *Daemon) record(ctx context.Context) {
	var boot [8]byte
	rand.Read(boot[:])
	rec := &recorder{store: d.store, tel: d.tel, logger: d.Logger.With("component", "metrics"),
		boot: hex.EncodeToString(boot[:]), last: map[resKey]resState{}}
	d.rec.Store(rec)
	defer d.rec.Store(nil)
	if d.store == nil {
		<-ctx.Done()
		return
	}
	if cfg, err := loadConfig(); err != nil {
		rec.logger.Warn("config: using the default SLO targets", "err", err)
	} else {
		for _, w := range cfg.Warnings {
			rec.logger.Warn("config", "warning", w)
		}
	}
	retain := retention(rec.logger)
	rec.prune(ctx, retain)
	rec.write(func(ctx context.Context) error {
		return rec.store.RecordBeat(ctx, store.Beat{Time: time.Now(), Boot: rec.boot, Kind: store.BeatStart})
	})
	flushT, beatT, pruneT := time.NewTicker(flushEvery), time.NewTicker(beatEvery), time.NewTicker(pruneEvery)
	defer flushT.Stop()
	defer beatT.Stop()
	defer pruneT.Stop()

	after := d.hub.Seq()
	for {
		subCtx, unsubscribe := context.WithCancel(ctx)
		past, ch, gap := d.hub.Subscribe(subCtx, "", after)
		if gap {
			rec.logger.Warn("events lost: the recorder fell behind the event ring", "after", after)
		}
		for _, ev := range past {
			rec.add(ev)
			after = ev.Seq
		}
	loop:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					if ctx.Err() != nil {
						break loop
					}
					rec.logger.Warn("recorder fell behind: resubscribing", "after", after)
					break loop
				}
				rec.add(ev)
				after = ev.Seq
			case <-flushT.C:
				rec.flush()
			case <-beatT.C:
				rec.write(func(ctx context.Context) error {
					return rec.store.RecordBeat(ctx, store.Beat{Time: time.Now(), Boot: rec.boot, Kind: store.BeatAlive})
				})
			case <-pruneT.C:
				rec.prune(ctx, retain)
			case <-ctx.Done():
				break loop
			}
		}
		unsubscribe()
		if ctx.Err() != nil {
			break
		}
	}
	// Shutting down: every project has stopped; take what is left from
	// the event ring.
	endCtx, end := context.WithCancel(context.Background())
	rest, _, _ := d.hub.Subscribe(endCtx, "", after)
	end()
	for _, ev := range rest {
		rec.add(ev)
	}
	rec.flush()
	rec.write(func(ctx context.Context) error {
		return rec.store.RecordBeat(ctx, store.Beat{Time: time.Now(), Boot: rec.boot, Kind: store.BeatStop})
	})
}

// retention reads LOOP_RETENTION (default 30d).
func retention(logger *slog.Logger) time.Duration {
	v := os.Getenv("LOOP_RETENTION")
	if v == "" {
		return defaultRetained
	}
	d, err := metrics.ParseWindow(v)
	if err != nil {
		logger.Warn("LOOP_RETENTION: keeping 30d", "err", err)
		return defaultRetained
	}
	return d
}

func (r *recorder) prune(ctx context.Context, retain time.Duration) {
	r.write(func(ctx context.Context) error {
		n, err := r.store.Prune(ctx, time.Now().Add(-retain))
		if err == nil && n > 0 {
			r.logger.Info("pruned the metrics store", "rows", n, "older_than", retain.String())
		}
		return err
	})
}

// add turns one hub event into a row, if it is one: a resource's state
// changes (the engine also publishes reason and pid changes), project
// events.
func (r *recorder) add(ev api.Event) {
	row := store.Event{Time: ev.Time, Seq: ev.Seq, Project: ev.Project, Kind: ev.Kind, Reason: ev.Message}
	switch {
	case ev.Kind == api.EventResource && ev.Resource != nil:
		res := ev.Resource
		k := resKey{ev.Project, res.Name}
		prev := r.last[k]
		if prev.state == res.State && prev.since.Equal(res.Since) {
			return // a reason, pid or diagnostics change
		}
		// A service answering its probe again is not the end of a run.
		recovered := res.State == api.StateReady && prev.state == api.StateUnresponsive
		if (res.State == api.StateReady || res.State == api.StateFailed) && prev.state != api.StateStarting && !recovered {
			// The engine publishes its settled view: a quick start (or a
			// restart, ready -> ready with a new Since) can reach us as
			// its end only. Record the start it implies.
			at := ev.Time
			if res.LastRun > 0 {
				at = at.Add(-res.LastRun)
			}
			run := runKind(res, prev.state)
			r.keep(store.Event{Time: at, Seq: ev.Seq, Project: ev.Project, Kind: ev.Kind,
				Resource: res.Name, ResourceKind: res.Kind, State: api.StateStarting, PrevState: prev.state,
				Reason: "started (implied by the next state)", Run: run})
			prev.state, prev.run, prev.started = api.StateStarting, run, at
		}
		cur := prev
		cur.state, cur.since = res.State, res.Since
		row.Resource, row.ResourceKind, row.State, row.PrevState, row.Reason = res.Name, res.Kind, res.State, prev.state, res.Reason
		switch res.State {
		case api.StateStarting:
			cur.run, cur.started = runKind(res, prev.state), ev.Time
			row.Run = cur.run
		case api.StateReady:
			if recovered {
				break
			}
			row.Run, row.Outcome, row.Duration = prev.run, store.RunReady, res.LastRun
			if res.SaveToLive > 0 && res.SaveToLive != prev.saveToLive {
				row.SaveToLive = res.SaveToLive
			}
		case api.StateFailed:
			row.Run, row.Outcome = prev.run, store.RunFailed
			if prev.state == api.StateStarting {
				row.Duration = ev.Time.Sub(prev.started)
				if res.Kind == "task" && res.LastRun > 0 {
					row.Duration = res.LastRun
				}
			}
		case api.StateCrashed:
			row.Run, row.Outcome = prev.run, store.RunCrashed
			if !prev.started.IsZero() {
				row.Duration = ev.Time.Sub(prev.started)
			}
		}
		if row.Outcome != "" && row.Duration == 0 && !prev.started.IsZero() {
			row.Duration = ev.Time.Sub(prev.started)
		}
		cur.saveToLive = res.SaveToLive
		r.last[k] = cur
	case ev.Kind == api.EventResource:
		return
	case ev.Kind == api.EventRemoved:
		for k := range r.last {
			if k.project == ev.Project {
				delete(r.last, k)
			}
		}
	case ev.Error != nil:
		row.Reason = ev.Error.String()
	}
	r.keep(row)
	if n := len(r.pending) - maxPending; n > 0 {
		r.logger.Warn("metrics store unavailable: dropping the oldest unwritten events", "dropped", n)
		r.pending = append(r.pending[:0], r.pending[n:]...)
	}
}

// keep queues a row for the store and hands it to the OTLP export.
func (r *recorder) keep(row store.Event) {
	r.pending = append(r.pending, row)
	r.tel.Event(row)
}

// runKind names a run by how it started.
func runKind(res *api.Resource, prev string) string {
	switch {
	case res.Kind == "task":
		return "task"
	case strings.HasPrefix(res.Reason, "updating"):
		return "update"
	case prev == api.StateReady || prev == api.StateCrashed || prev == api.StateFailed || strings.HasPrefix(res.Reason, "restarting"):
		return "restart"
	}
	return "start"
}

// flush writes the pending rows in one transaction; on failure they stay
// for the next try.
func (r *recorder) flush() {
	if len(r.pending) == 0 {
		return
	}
	if r.write(func(ctx context.Context) error { return r.store.RecordEvents(ctx, r.pending) }) {
		r.pending = r.pending[:0]
	}
}

// write runs one store write with a deadline; a failure is counted and
// logged (at most once a minute), never returned.
func (r *recorder) write(fn func(context.Context) error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := fn(ctx)
	if err == nil {
		r.mu.Lock()
		recovered := !r.failing.IsZero()
		r.failing = time.Time{}
		r.mu.Unlock()
		if recovered {
			r.logger.Info("metrics store writes work again")
		}
		return true
	}
	r.fail(err)
	return false
}

func (r *recorder) fail(err error) {
	r.errs.Add(1)
	r.mu.Lock()
	r.lastErr = err.Error()
	if r.failing.IsZero() {
		r.failing = time.Now()
	}
	logIt := time.Since(r.loggedAt) >= time.Minute
	if logIt {
		r.loggedAt = time.Now()
	}
	r.mu.Unlock()
	if logIt {
		r.logger.Error("metrics store write failed: loopd keeps serving, metrics miss what is not written", "err", err, "errors", r.errs.Load())
	}
}

// storeProblem describes failing store writes, or returns false while
// they work.
func (r *recorder) storeProblem(home string) (api.Problem, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing.IsZero() {
		return api.Problem{}, false
	}
	return api.Problem{Component: "store", Since: r.failing, Message: fmt.Sprintf(
		"metrics store %s not written since %s: %s; up to %d events wait in memory and are retried every %s: free space there",
		filepath.Join(home, "loop.db"), r.failing.Format(time.TimeOnly), r.lastErr, maxPending, flushEvery)}, true
}

// storeErrors is the count of failed writes and the last error.
func (r *recorder) storeErrors() (int64, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs.Load(), r.lastErr
}
