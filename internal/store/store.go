// Package store is loop's small embedded database: one SQLite file
// ($LOOP_HOME/loop.db, WAL mode) that several processes open at once — the
// loop CLI records each `loop ship` attempt there; loopd records its event
// log, `loop feedback` answers and its own heartbeats there, and reads it
// all back for the portal and its metrics (package metrics).
//
// The schema is a list of migrations applied in order and counted by
// PRAGMA user_version, so a later feature adds a table by appending one
// statement. Times are stored as Unix nanoseconds (0 = unset).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// FileName is the database's name under LOOP_HOME.
const FileName = "loop.db"

// Ship outcomes.
const (
	OutcomeShipped = "shipped"
	OutcomeFailed  = "failed"
	OutcomeDryRun  = "dry-run"
)

// Ship is one `loop ship` attempt of one resource.
type Ship struct {
	ID         int64
	Project    string
	Service    string
	Commit     string // git commit shipped (full SHA)
	CommitTime time.Time
	Started    time.Time
	Finished   time.Time
	Outcome    string // OutcomeShipped, OutcomeFailed, OutcomeDryRun
	Image      string // repository@sha256:... once pushed (the tag it would push, in a dry run)
	Digest     string
	Error      string // why it failed, naming the step
	Deploy     string // deploy API result (deployment ID and status), "" when not used
	GitOps     string // GitOps result (config commit), "" when not used
}

// Store is an open database. It is safe for concurrent use, and other
// processes may have the same file open.
type Store struct {
	db *sql.DB
}

// migrations build the schema; user_version counts how many have run.
// Append only: never edit one that has shipped.
var migrations = []string{
	`CREATE TABLE ships (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		project     TEXT    NOT NULL,
		service     TEXT    NOT NULL,
		commit_sha  TEXT    NOT NULL DEFAULT '',
		commit_time INTEGER NOT NULL DEFAULT 0,
		started     INTEGER NOT NULL,
		finished    INTEGER NOT NULL DEFAULT 0,
		outcome     TEXT    NOT NULL,
		image       TEXT    NOT NULL DEFAULT '',
		digest      TEXT    NOT NULL DEFAULT '',
		error       TEXT    NOT NULL DEFAULT '',
		deploy      TEXT    NOT NULL DEFAULT '',
		gitops      TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX ships_started ON ships (started);`,
	// 2: loopd's event log, `loop feedback` answers and daemon heartbeats.
	`CREATE TABLE events (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		time            INTEGER NOT NULL,
		seq             INTEGER NOT NULL DEFAULT 0,
		project         TEXT    NOT NULL,
		resource        TEXT    NOT NULL DEFAULT '',
		resource_kind   TEXT    NOT NULL DEFAULT '',
		kind            TEXT    NOT NULL,
		state           TEXT    NOT NULL DEFAULT '',
		prev_state      TEXT    NOT NULL DEFAULT '',
		reason          TEXT    NOT NULL DEFAULT '',
		run             TEXT    NOT NULL DEFAULT '',
		duration_ns     INTEGER NOT NULL DEFAULT 0,
		save_to_live_ns INTEGER NOT NULL DEFAULT 0,
		outcome         TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX events_time ON events (time);
	CREATE INDEX events_resource ON events (project, resource, time);
	CREATE TABLE feedback (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		time    INTEGER NOT NULL,
		score   INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
		comment TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX feedback_time ON feedback (time);
	CREATE TABLE uptime (
		id   INTEGER PRIMARY KEY AUTOINCREMENT,
		time INTEGER NOT NULL,
		boot TEXT    NOT NULL,
		kind TEXT    NOT NULL
	);
	CREATE INDEX uptime_time ON uptime (time);`,
}

// busyTimeout is how long a writer waits for another process's lock.
const busyTimeout = 10 * time.Second

// Permissions of the store: what loop records is the user's alone.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// sqliteFiles are the suffixes of the files SQLite keeps beside the
// database.
var sqliteFiles = []string{"-wal", "-shm", "-journal"}

// Open opens (creating when missing) the database at path and brings its
// schema up to date. The database's directory is made 0700 and its files
// 0600, those an older loop left more open included.
func Open(path string) (*Store, error) {
	if err := private(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	q := url.Values{}
	// busy_timeout first: switching to WAL takes a lock another process may hold.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate") // writers queue on busy_timeout instead of failing on upgrade
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
	// Several processes opening a new file at once can meet SQLite's
	// deadlock detection (SQLITE_BUSY without the busy handler) while one
	// switches the file to WAL: retry within the busy timeout.
	deadline := time.Now().Add(busyTimeout)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		err = s.migrate(context.Background())
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(delay)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// private makes the directory of the database at path 0700 and the
// database 0600, creating it first: SQLite gives the -wal and -shm files it
// creates the database's mode, so they are never readable by others either.
// Existing -wal, -shm and -journal files are made 0600 too.
func private(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if fi.Mode().Perm() != dirMode {
		if err := os.Chmod(dir, dirMode); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range append([]string{""}, sqliteFiles...) {
		if err := os.Chmod(path+p, fileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// DB is the underlying handle, for packages that add their own tables
// (with a migration here).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// migrate applies the migrations this file has not seen yet, each in a
// transaction with the user_version bump, so two processes opening a new
// file at once apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	for {
		tx, err := s.db.BeginTx(ctx, nil) // immediate: holds the write lock
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate: read schema version: %w", err)
		}
		if v > len(migrations) {
			tx.Rollback()
			return fmt.Errorf("schema version %d is newer than this loop knows (%d): upgrade loop", v, len(migrations))
		}
		if v == len(migrations) {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
}

// RecordShip stores one ship attempt and returns its ID.
func (s *Store) RecordShip(ctx context.Context, sh Ship) (int64, error) {
	if sh.Project == "" || sh.Service == "" || sh.Outcome == "" {
		return 0, errors.New("record ship: project, service and outcome are required")
	}
	if sh.Started.IsZero() {
		sh.Started = time.Now()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO ships
		(project, service, commit_sha, commit_time, started, finished, outcome, image, digest, error, deploy, gitops)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sh.Project, sh.Service, sh.Commit, nanos(sh.CommitTime), nanos(sh.Started), nanos(sh.Finished),
		sh.Outcome, sh.Image, sh.Digest, sh.Error, sh.Deploy, sh.GitOps)
	if err != nil {
		return 0, fmt.Errorf("record ship of %s: %w", sh.Service, err)
	}
	return res.LastInsertId()
}

// Ships returns the attempts started at or after since, oldest first.
func (s *Store) Ships(ctx context.Context, since time.Time) ([]Ship, error) {
	return s.ships(ctx, "started >= ? ORDER BY started, id", nanos(since))
}

// ShipsAfter returns the attempts recorded after the one with ID id, in
// the order they were recorded, at most limit: a reader that remembers
// the last ID it saw learns of each new attempt once, however long ago it
// started. LastShipID is where such a reader starts.
func (s *Store) ShipsAfter(ctx context.Context, id int64, limit int) ([]Ship, error) {
	return s.ships(ctx, "id > ? ORDER BY id LIMIT ?", id, limit)
}

// LastShipID is the ID of the last attempt recorded, 0 without any.
func (s *Store) LastShipID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM ships").Scan(&id); err != nil {
		return 0, fmt.Errorf("last ship: %w", err)
	}
	return id, nil
}

func (s *Store) ships(ctx context.Context, where string, args ...any) ([]Ship, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT
		id, project, service, commit_sha, commit_time, started, finished, outcome, image, digest, error, deploy, gitops
		FROM ships WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list ships: %w", err)
	}
	defer rows.Close()
	var out []Ship
	for rows.Next() {
		var sh Ship
		var ct, st, fi int64
		if err := rows.Scan(&sh.ID, &sh.Project, &sh.Service, &sh.Commit, &ct, &st, &fi,
			&sh.Outcome, &sh.Image, &sh.Digest, &sh.Error, &sh.Deploy, &sh.GitOps); err != nil {
			return nil, fmt.Errorf("list ships: %w", err)
		}
		sh.CommitTime, sh.Started, sh.Finished = fromNanos(ct), fromNanos(st), fromNanos(fi)
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list ships: %w", err)
	}
	return out, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
