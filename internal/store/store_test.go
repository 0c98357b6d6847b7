package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore_RecordShip(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), FileName))
	base := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	want := Ship{
		Project: "shop", Service: "web", Commit: "0123abcd", CommitTime: base.Add(-time.Hour),
		Started: base, Finished: base.Add(42 * time.Second), Outcome: OutcomeShipped,
		Image: "reg/team/web@sha256:aa", Digest: "sha256:aa", Deploy: "dep-1 succeeded", GitOps: "abc123",
	}
	id, err := s.RecordShip(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	want.ID = id
	if _, err := s.RecordShip(ctx, Ship{Project: "shop", Service: "api", Started: base.Add(-48 * time.Hour), Outcome: OutcomeFailed, Error: "push: 401"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ships(ctx, base.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Ships(since) = %d ships, want 1: %+v", len(got), got)
	}
	if !got[0].Started.Equal(want.Started) || !got[0].Finished.Equal(want.Finished) || !got[0].CommitTime.Equal(want.CommitTime) {
		t.Errorf("times: got %v %v %v, want %v %v %v", got[0].CommitTime, got[0].Started, got[0].Finished, want.CommitTime, want.Started, want.Finished)
	}
	got[0].CommitTime, got[0].Started, got[0].Finished = want.CommitTime, want.Started, want.Finished
	if got[0] != want {
		t.Errorf("got %+v\nwant %+v", got[0], want)
	}
	all, err := s.Ships(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Service != "api" || !all[0].Finished.IsZero() {
		t.Errorf("Ships(zero) = %+v, want api (unfinished) then web", all)
	}
}

// ShipsAfter hands each attempt once, in the order recorded, whenever it
// started: what a live reader (the OTLP export) polls.
func TestStore_ShipsAfter(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), FileName))
	if id, err := s.LastShipID(ctx); err != nil || id != 0 {
		t.Fatalf("LastShipID of an empty store = %d, %v; want 0, nil", id, err)
	}
	now := time.Now()
	first, err := s.RecordShip(ctx, Ship{Project: "p", Service: "a", Started: now, Outcome: OutcomeShipped})
	if err != nil {
		t.Fatal(err)
	}
	// Started long ago, recorded later: still after first.
	if _, err := s.RecordShip(ctx, Ship{Project: "p", Service: "b", Started: now.Add(-time.Hour), Outcome: OutcomeFailed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordShip(ctx, Ship{Project: "p", Service: "c", Started: now, Outcome: OutcomeDryRun}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ShipsAfter(ctx, first, 1)
	if err != nil || len(got) != 1 || got[0].Service != "b" {
		t.Fatalf("ShipsAfter(first, 1) = %+v, %v; want b", got, err)
	}
	got, err = s.ShipsAfter(ctx, got[0].ID, 10)
	if err != nil || len(got) != 1 || got[0].Service != "c" {
		t.Fatalf("ShipsAfter(b, 10) = %+v, %v; want c", got, err)
	}
	if last, err := s.LastShipID(ctx); err != nil || last != got[0].ID {
		t.Errorf("LastShipID = %d, %v; want %d", last, err, got[0].ID)
	}
}

func TestStore_RecordShipRequiresFields(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	if _, err := s.RecordShip(context.Background(), Ship{Project: "p"}); err == nil {
		t.Fatal("RecordShip without service and outcome: want an error")
	}
}

// Two handles on one file stand for two processes (loop and loopd).
func TestStore_ConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	a, b := open(t, path), open(t, path)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				_, err := s.RecordShip(ctx, Ship{Project: "p", Service: fmt.Sprintf("s%d-%d", i, j), Started: time.Now(), Outcome: OutcomeDryRun})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := a.Ships(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2*n {
		t.Errorf("after %d writes from two handles, %d ships", 2*n, len(got))
	}
	var mode string
	if err := b.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

// Opening a new file from several handles at once applies each migration once.
func TestStore_ConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(path)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestStore_Reopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", FileName)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordShip(ctx, Ship{Project: "p", Service: "web", Started: time.Now(), Outcome: OutcomeShipped}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	got, err := s.Ships(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Service != "web" {
		t.Errorf("after reopen: %+v, want the one ship", got)
	}
	var v int
	if err := s.DB().QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(migrations) {
		t.Errorf("user_version = %d (%v), want %d", v, err, len(migrations))
	}
}
