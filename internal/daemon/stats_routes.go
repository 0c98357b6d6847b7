package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/store"
)

// The stats routes read what the recorder (recorder.go) stored back
// through package metrics.

const (
	defaultWindow = 7 * 24 * time.Hour
	maxHistory    = 1000
)

// statsRoutes mounts the metrics API (stats, history, feedback, /metrics).
func (d *Daemon) statsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/stats", d.handleStats)
	mux.HandleFunc("GET /v1/history", d.handleHistory)
	mux.HandleFunc("POST /v1/feedback", d.handleFeedback)
	mux.HandleFunc("GET /v1/metrics", d.handleMetrics)
	mux.HandleFunc("GET /metrics", d.handleMetrics)
}

// stats computes the metrics of the window since, of one project or all.
// A store that cannot be read gives empty metrics that say why.
func (d *Daemon) stats(ctx context.Context, since time.Time, project string) api.Stats {
	rec := d.recorder()
	in := metrics.Input{Since: since, Until: time.Now(), Targets: d.sloTargets(project)}
	var readErr error
	if rec.store == nil {
		readErr = errors.New("no metrics store: see loopd.log for why it did not open")
	} else {
		var err error
		var errs []error
		in.Events, err = rec.store.Events(ctx, store.EventQuery{Since: since, Project: project})
		errs = append(errs, err)
		ships, err := rec.store.Ships(ctx, since)
		errs = append(errs, err)
		for _, sh := range ships {
			if project == "" || sh.Project == project {
				in.Ships = append(in.Ships, sh)
			}
		}
		in.Feedback, err = rec.store.Feedbacks(ctx, since)
		errs = append(errs, err)
		in.Beats, err = rec.store.Beats(ctx, since)
		errs = append(errs, err)
		readErr = errors.Join(errs...)
	}
	st := metrics.Compute(in)
	st.PolicyExceptions = d.policyExceptions(project)
	st.StoreErrors, st.StoreError = rec.storeErrors()
	st.Telemetry = d.tel.Status()
	if readErr != nil {
		st.StoreError = readErr.Error()
	}
	return st
}

func (d *Daemon) handleStats(w http.ResponseWriter, r *http.Request) {
	window := defaultWindow
	if s := r.URL.Query().Get("since"); s != "" {
		var err error
		if window, err = metrics.ParseWindow(s); err != nil {
			writeError(w, http.StatusBadRequest, err, "since=7d, since=2w or since=36h")
			return
		}
	}
	writeJSON(w, http.StatusOK, d.stats(r.Context(), time.Now().Add(-window), r.URL.Query().Get("project")))
}

func (d *Daemon) handleMetrics(w http.ResponseWriter, r *http.Request) {
	st := d.stats(r.Context(), time.Time{}, "")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	metrics.WritePrometheus(w, st)
}

func (d *Daemon) handleHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: want a positive number", s), "")
			return
		}
		limit = min(n, maxHistory)
	}
	rec := d.recorder()
	if rec.store == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no metrics store: see loopd.log for why it did not open"), "")
		return
	}
	evs, err := rec.store.Events(r.Context(), store.EventQuery{Project: q.Get("project"), Resource: q.Get("resource"), Outcomes: true, Limit: limit})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err, "")
		return
	}
	h := metrics.History(evs)
	if h == nil {
		h = []api.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, h)
}

func (d *Daemon) handleFeedback(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Score   *int   `json:"score"`
		Comment string `json:"comment"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode feedback: %w", err), `send {"score": 0-10, "comment": "..."}`)
		return
	}
	if req.Score == nil || *req.Score < 0 || *req.Score > 10 {
		writeError(w, http.StatusBadRequest, store.ErrScore, `send {"score": 0-10, "comment": "..."}`)
		return
	}
	rec := d.recorder()
	if rec.store == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no metrics store: see loopd.log for why it did not open"), "")
		return
	}
	fb := api.Feedback{Score: *req.Score, Comment: strings.TrimSpace(req.Comment), Time: time.Now()}
	if err := rec.store.RecordFeedback(r.Context(), store.Feedback{Time: fb.Time, Score: fb.Score, Comment: fb.Comment}); err != nil {
		rec.fail(err)
		writeError(w, http.StatusServiceUnavailable, err, "the metrics store cannot be written: check the free space of "+d.Home)
		return
	}
	d.tel.Feedback(fb.Score)
	writeJSON(w, http.StatusCreated, fb)
}
