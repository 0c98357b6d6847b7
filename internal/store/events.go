package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run outcomes recorded on the event that ends a run.
const (
	RunReady   = "ready"   // a service became ready, a task succeeded
	RunFailed  = "failed"  // a task failed, or a command could not start
	RunCrashed = "crashed" // a service exited on its own
)

// Event is one row of loopd's event log: a resource's state transition
// (only when its state changed), or a project event ("project up",
// "project down", a broken Loopfile).
type Event struct {
	ID           int64
	Time         time.Time
	Seq          uint64 // the daemon's event sequence number (restarts at 1 with loopd)
	Project      string
	Resource     string // "" for project events
	ResourceKind string // "service", "task", "container"
	Kind         string // api.EventResource, api.EventProject, api.EventRemoved
	State        string // the state entered
	PrevState    string // the state left ("" = first seen by this loopd)
	Reason       string // the resource's reason, or the project event's message
	Run          string // on a run's start and end: "start", "restart", "update", "task"
	Duration     time.Duration
	SaveToLive   time.Duration // > 0 on a ready that made a file change live
	Outcome      string        // RunReady, RunFailed, RunCrashed on the event that ends a run
}

// RecordEvents stores evs in one transaction.
func (s *Store) RecordEvents(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO events
		(time, seq, project, resource, resource_kind, kind, state, prev_state, reason, run, duration_ns, save_to_live_ns, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	defer st.Close()
	for _, e := range evs {
		if _, err := st.ExecContext(ctx, nanos(e.Time), int64(e.Seq), e.Project, e.Resource, e.ResourceKind, e.Kind,
			e.State, e.PrevState, e.Reason, e.Run, int64(e.Duration), int64(e.SaveToLive), e.Outcome); err != nil {
			return fmt.Errorf("record events: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// EventQuery selects events; zero fields match everything.
type EventQuery struct {
	Since    time.Time
	Project  string
	Resource string
	Outcomes bool // only events that end a run
	Limit    int  // the newest Limit rows (still returned oldest first); 0 = all
}

// Events returns the matching events, oldest first.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	where := []string{"time >= ?"}
	args := []any{nanos(q.Since)}
	if q.Project != "" {
		where, args = append(where, "project = ?"), append(args, q.Project)
	}
	if q.Resource != "" {
		where, args = append(where, "resource = ?"), append(args, q.Resource)
	}
	if q.Outcomes {
		where = append(where, "outcome != ''")
	}
	query := `SELECT id, time, seq, project, resource, resource_kind, kind, state, prev_state, reason, run, duration_ns, save_to_live_ns, outcome
		FROM events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY time DESC, id DESC`
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t, seq, dur, stl int64
		if err := rows.Scan(&e.ID, &t, &seq, &e.Project, &e.Resource, &e.ResourceKind, &e.Kind, &e.State, &e.PrevState,
			&e.Reason, &e.Run, &dur, &stl, &e.Outcome); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Time, e.Seq, e.Duration, e.SaveToLive = fromNanos(t), uint64(seq), time.Duration(dur), time.Duration(stl)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Feedback is one `loop feedback` answer.
type Feedback struct {
	ID      int64
	Time    time.Time
	Score   int // 0-10
	Comment string
}

// ErrScore rejects a feedback score outside 0-10.
var ErrScore = errors.New("score must be a whole number from 0 to 10")

// RecordFeedback stores one answer.
func (s *Store) RecordFeedback(ctx context.Context, f Feedback) error {
	if f.Score < 0 || f.Score > 10 {
		return fmt.Errorf("record feedback: %w (got %d)", ErrScore, f.Score)
	}
	if f.Time.IsZero() {
		f.Time = time.Now()
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO feedback (time, score, comment) VALUES (?, ?, ?)`,
		nanos(f.Time), f.Score, f.Comment); err != nil {
		return fmt.Errorf("record feedback: %w", err)
	}
	return nil
}

// Feedbacks returns the answers given at or after since, oldest first.
func (s *Store) Feedbacks(ctx context.Context, since time.Time) ([]Feedback, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, score, comment FROM feedback WHERE time >= ? ORDER BY time, id`, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("list feedback: %w", err)
	}
	defer rows.Close()
	var out []Feedback
	for rows.Next() {
		var f Feedback
		var t int64
		if err := rows.Scan(&f.ID, &t, &f.Score, &f.Comment); err != nil {
			return nil, fmt.Errorf("list feedback: %w", err)
		}
		f.Time = fromNanos(t)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list feedback: %w", err)
	}
	return out, nil
}

// Heartbeat kinds: a daemon writes BeatStart when it starts, BeatAlive
// every minute and BeatStop when it shuts down cleanly.
const (
	BeatStart = "start"
	BeatAlive = "alive"
	BeatStop  = "stop"
)

// Beat is one daemon heartbeat.
type Beat struct {
	Time time.Time
	Boot string // identifies one daemon run
	Kind string // BeatStart, BeatAlive, BeatStop
}

// RecordBeat stores one heartbeat.
func (s *Store) RecordBeat(ctx context.Context, b Beat) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO uptime (time, boot, kind) VALUES (?, ?, ?)`,
		nanos(b.Time), b.Boot, b.Kind); err != nil {
		return fmt.Errorf("record heartbeat: %w", err)
	}
	return nil
}

// Beats returns the heartbeats at or after since, oldest first.
func (s *Store) Beats(ctx context.Context, since time.Time) ([]Beat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT time, boot, kind FROM uptime WHERE time >= ? ORDER BY time, id`, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("list heartbeats: %w", err)
	}
	defer rows.Close()
	var out []Beat
	for rows.Next() {
		var b Beat
		var t int64
		if err := rows.Scan(&t, &b.Boot, &b.Kind); err != nil {
			return nil, fmt.Errorf("list heartbeats: %w", err)
		}
		b.Time = fromNanos(t)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list heartbeats: %w", err)
	}
	return out, nil
}

// Prune deletes what is older than before from every table (events,
// heartbeats, feedback and ship records) and returns how many rows went.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback()
	var n int64
	for _, q := range []string{
		`DELETE FROM events WHERE time < ?`,
		`DELETE FROM uptime WHERE time < ?`,
		`DELETE FROM feedback WHERE time < ?`,
		`DELETE FROM ships WHERE started < ?`,
	} {
		res, err := tx.ExecContext(ctx, q, nanos(before))
		if err != nil {
			return 0, fmt.Errorf("prune: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return n, nil
}
