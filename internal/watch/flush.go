package watch

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fsnotify/fsnotify"
)

// ErrNotRunning is returned by Flush when Run is not running.
var ErrNotRunning = errors.New("watch: not running")

// Flush returns, as one batch, every change made before the call that has
// not been delivered yet — without waiting for the debounce. It is how a
// caller asks "has the watcher seen my edit?" (the daemon's wait-until-
// settled call). ok is false when there is nothing to deliver.
//
// It is exact, not a guess: Flush makes the event loop create a sentinel
// file in a private directory watched by the same inotify instance (or
// FSEvents stream). Both keep events in order, so when the sentinel's event
// arrives, every event of an earlier write has arrived too.
func (w *Watcher) Flush(ctx context.Context) (b Batch, ok bool, err error) {
	reply := make(chan Batch, 1)
	select {
	case w.flushReq <- reply:
	case <-ctx.Done():
		return Batch{}, false, ctx.Err()
	}
	select {
	case b, open := <-reply:
		if !open || len(b.Changes) == 0 {
			return Batch{}, false, nil
		}
		return b, true, nil
	case <-ctx.Done():
		return Batch{}, false, ctx.Err()
	}
}

// barrier is owned by the event loop.
type barrier struct {
	dir     string // "" when the sentinel directory could not be made
	next    int
	waiting map[string][]chan Batch // sentinel path -> callers
	log     *slog.Logger
}

// init makes the sentinel directory. It comes before the source is opened
// because a tree source (FSEvents) streams it as one of its roots, in the
// same stream as the project, which keeps its events in order.
func (b *barrier) init(log *slog.Logger) {
	b.log = log
	b.waiting = map[string][]chan Batch{}
	dir, err := os.MkdirTemp("", "loop-watch-barrier-")
	if err != nil {
		b.unavailable(err)
		return
	}
	b.dir = dir
}

// watch adds the sentinel directory to src.
func (b *barrier) watch(src source) {
	if b.dir == "" {
		return
	}
	if err := src.Add(b.dir); err != nil {
		b.unavailable(err)
		os.RemoveAll(b.dir)
		b.dir = ""
	}
}

func (b *barrier) unavailable(err error) {
	b.log.Warn("flush barrier unavailable: Flush returns only what already arrived", "err", err)
}

func (b *barrier) stop() {
	for _, cs := range b.waiting {
		for _, c := range cs {
			close(c)
		}
	}
	b.waiting = nil
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func (b *barrier) owns(path string) bool {
	return b.dir != "" && filepath.Dir(path) == b.dir
}

// request writes a sentinel; the caller is answered when its event arrives.
func (b *barrier) request(reply chan Batch) {
	if b.dir == "" {
		close(reply)
		return
	}
	b.next++
	p := filepath.Join(b.dir, strconv.Itoa(b.next))
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		b.log.Warn("flush barrier", "err", err)
		close(reply)
		return
	}
	b.waiting[p] = append(b.waiting[p], reply)
}

// reached closes the open batch and hands it to the callers waiting on the
// sentinel of ev.
func (b *barrier) reached(ev fsnotify.Event, w *Watcher) error {
	callers, ok := b.waiting[ev.Name]
	if !ok || !ev.Has(fsnotify.Create) {
		return nil
	}
	delete(b.waiting, ev.Name)
	os.Remove(ev.Name)
	if !w.batchStart.IsZero() {
		if err := w.flush(); err != nil {
			return err
		}
	}
	var batch Batch
	if w.queued != nil {
		batch = *w.queued
		w.queued = nil
	}
	for i, c := range callers {
		if i == 0 {
			c <- batch
		}
		close(c)
	}
	return nil
}
