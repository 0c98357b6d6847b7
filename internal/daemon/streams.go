package daemon

// The streaming endpoints: GET /v1/projects/{project}/logs (a query, or a
// follow stream) and GET /v1/events (server-sent events).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/logs"
)

// handleLogs serves a project's logs as newline-delimited JSON. With
// follow=1 it keeps streaming new lines. A project that is not up is read
// from its persisted logs.
func (d *Daemon) handleLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	q := r.URL.Query()
	query := logs.Query{Resources: q["resource"]}
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("tail %q: want a number of lines", s), "")
			return
		}
		query.Tail = n
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, err, "")
			return
		}
		query.Since = t
	}
	if s := q.Get("grep"); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("grep %q: %w", s, err), "")
			return
		}
		query.Grep = re
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("after %q: want a sequence number", s), "")
			return
		}
		query.AfterSeq = n
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"

	var store *logs.Store
	if p, ok := d.project(name); ok {
		store = p.logs
	} else {
		lf := q.Get("loopfile")
		if lf == "" {
			writeError(w, http.StatusNotFound, fmt.Errorf("project %q is not up", name), "pass loopfile= to read its persisted logs")
			return
		}
		dir := logDir(d.Home, lf)
		if _, err := os.Stat(dir); err != nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("no logs for %s", lf), "run `loop up` in its directory")
			return
		}
		s, err := logs.Open(dir, 0)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err, "")
			return
		}
		defer s.Close()
		store, follow = s, false
	}
	var sub <-chan logs.Line
	ctx := r.Context()
	if follow {
		sub = store.Subscribe(ctx)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var last uint64
	for _, l := range store.Query(query) {
		enc.Encode(toWire(l))
		last = l.Seq
	}
	flush(w)
	if !follow {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-sub:
			if !ok {
				return
			}
			if l.Seq <= last || !matches(query, l) {
				continue
			}
			enc.Encode(toWire(l))
			flush(w)
		}
	}
}

func matches(q logs.Query, l logs.Line) bool {
	if len(q.Resources) > 0 && !slices.Contains(q.Resources, l.Resource) {
		return false
	}
	return q.Grep == nil || q.Grep.MatchString(l.Text)
}

func toWire(l logs.Line) api.LogLine {
	return api.LogLine{Seq: l.Seq, Time: l.Time, Resource: l.Resource, Stream: l.Stream, Text: l.Text, TraceID: logs.TraceID(l.Text)}
}

// parseSince takes a duration ("5m": that long ago) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (5m) or an RFC 3339 time", s)
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// handleEvents streams events as Server-Sent Events; `after` (or the
// Last-Event-ID header) resumes after a sequence number.
func (d *Daemon) handleEvents(w http.ResponseWriter, r *http.Request) {
	after := uint64(0)
	s := r.URL.Query().Get("after")
	if s == "" {
		s = r.Header.Get("Last-Event-ID")
	}
	if s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("after %q: want a sequence number", s), "")
			return
		}
		after = n
	}
	ctx := r.Context()
	past, ch, gap := d.hub.Subscribe(ctx, r.URL.Query().Get("project"), after)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if gap {
		fmt.Fprintf(w, "event: gap\ndata: {}\n\n")
	}
	write := func(ev api.Event) {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", ev.Seq, b)
	}
	for _, ev := range past {
		write(ev)
	}
	flush(w)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return // fell behind: the client resumes with Last-Event-ID
			}
			write(ev)
			flush(w)
		}
	}
}
