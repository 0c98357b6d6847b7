package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestStore_Events(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), FileName))
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	evs := []Event{
		{Time: base, Seq: 1, Project: "shop", Resource: "web", ResourceKind: "service", Kind: "resource", State: "starting", Run: "start"},
		{Time: base.Add(time.Second), Seq: 2, Project: "shop", Resource: "web", ResourceKind: "service", Kind: "resource", State: "ready", PrevState: "starting",
			Run: "start", Duration: time.Second, SaveToLive: 250 * time.Millisecond, Outcome: RunReady},
		{Time: base.Add(2 * time.Second), Seq: 3, Project: "shop", Resource: "test", ResourceKind: "task", Kind: "resource", State: "failed", Outcome: RunFailed},
		{Time: base.Add(3 * time.Second), Seq: 4, Project: "blog", Kind: "project", Reason: "project up"},
	}
	if err := s.RecordEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    EventQuery
		want []uint64 // seqs
	}{
		{"all", EventQuery{}, []uint64{1, 2, 3, 4}},
		{"since", EventQuery{Since: base.Add(time.Second)}, []uint64{2, 3, 4}},
		{"project", EventQuery{Project: "shop"}, []uint64{1, 2, 3}},
		{"resource", EventQuery{Project: "shop", Resource: "web"}, []uint64{1, 2}},
		{"outcomes", EventQuery{Outcomes: true}, []uint64{2, 3}},
		{"limit keeps the newest", EventQuery{Limit: 2}, []uint64{3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Events(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Errorf("seqs = %v, want %v", seqs, tc.want)
			}
		})
	}
	got, _ := s.Events(ctx, EventQuery{Resource: "web", Outcomes: true})
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	g, w := got[0], evs[1]
	if !g.Time.Equal(w.Time) {
		t.Errorf("time = %v, want %v", g.Time, w.Time)
	}
	g.ID, g.Time = 0, w.Time
	if g != w {
		t.Errorf("got %+v\nwant %+v", g, w)
	}
}

func TestStore_Feedback(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), FileName))
	for _, score := range []int{-1, 11} {
		if err := s.RecordFeedback(ctx, Feedback{Score: score}); !errors.Is(err, ErrScore) {
			t.Errorf("RecordFeedback(%d) = %v, want ErrScore", score, err)
		}
	}
	if err := s.RecordFeedback(ctx, Feedback{Score: 9, Comment: "fast"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFeedback(ctx, Feedback{Score: 0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Feedbacks(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Score != 9 || got[0].Comment != "fast" || got[1].Score != 0 {
		t.Errorf("Feedbacks = %+v, want 9 (fast), 0", got)
	}
}

func TestStore_Prune(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), FileName))
	now := time.Now()
	old, fresh := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
	for _, at := range []time.Time{old, fresh} {
		s.RecordEvents(ctx, []Event{{Time: at, Project: "p", Kind: "project"}})
		s.RecordFeedback(ctx, Feedback{Time: at, Score: 5})
		s.RecordBeat(ctx, Beat{Time: at, Boot: "b", Kind: BeatAlive})
		s.RecordShip(ctx, Ship{Project: "p", Service: "s", Started: at, Outcome: OutcomeShipped})
	}
	n, err := s.Prune(ctx, now.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("pruned %d rows, want 4 (one of each)", n)
	}
	evs, _ := s.Events(ctx, EventQuery{})
	fbs, _ := s.Feedbacks(ctx, time.Time{})
	beats, _ := s.Beats(ctx, time.Time{})
	ships, _ := s.Ships(ctx, time.Time{})
	if len(evs) != 1 || len(fbs) != 1 || len(beats) != 1 || len(ships) != 1 {
		t.Errorf("left %d events, %d feedback, %d beats, %d ships; want 1 each", len(evs), len(fbs), len(beats), len(ships))
	}
}

// Two handles on one file (as two processes would have) write batches at
// once: every row lands.
func TestStore_ConcurrentEventWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	a, b := open(t, path), open(t, path)
	const batches, per = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*batches)
	for w, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				var evs []Event
				for j := range per {
					evs = append(evs, Event{Time: time.Now(), Seq: uint64(i*per + j), Project: fmt.Sprintf("w%d", w), Kind: "resource", State: "ready"})
				}
				if err := s.RecordEvents(ctx, evs); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, p := range []string{"w0", "w1"} {
		got, err := a.Events(ctx, EventQuery{Project: p})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != batches*per {
			t.Errorf("%s: %d events, want %d", p, len(got), batches*per)
		}
	}
}
