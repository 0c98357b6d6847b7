package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const waitLimit = 20 * time.Second

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

// startWatcher runs a Watcher until the test ends and waits for Ready.
func startWatcher(t testing.TB, opts Options) *Watcher {
	t.Helper()
	w, err := New(opts)
	must(t, err)
	return runWatcher(t, w)
}

func runWatcher(t testing.TB, w *Watcher) *Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-w.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("watcher not ready")
	}
	return w
}

// nextBatch waits for the next batch.
func nextBatch(t testing.TB, w *Watcher) Batch {
	t.Helper()
	select {
	case b := <-w.Batches():
		return b
	case <-time.After(waitLimit):
		t.Fatal("no batch")
	}
	return Batch{}
}

// noBatch asserts that no batch arrives for a short while.
func noBatch(t testing.TB, w *Watcher) {
	t.Helper()
	select {
	case b := <-w.Batches():
		t.Fatalf("got batch %v, want none", b.Changes)
	case <-time.After(200 * time.Millisecond):
	}
}

// changesUntil collects batches, merging them, until every path of want is
// present; it then compares the whole set with want.
func changesUntil(t testing.TB, w *Watcher, want []Change) []Change {
	t.Helper()
	var got []Change
	deadline := time.After(waitLimit)
	for !containsAll(got, want) {
		select {
		case b := <-w.Batches():
			got = mergeChanges(got, b.Changes)
		case <-deadline:
			t.Fatalf("changes = %v, want %v", got, want)
		}
	}
	slices.SortFunc(want, func(a, b Change) int { return cmpString(a.Path, b.Path) })
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	return got
}

func containsAll(got, want []Change) bool {
	for _, c := range want {
		if !slices.Contains(got, c) {
			return false
		}
	}
	return true
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ageFiles sets the mtime of every file under root to an hour ago, so that
// the background hasher accepts their hashes as the baseline.
func ageFiles(t testing.TB, root string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	must(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	}))
}

func waitHashed(t testing.TB, w *Watcher) {
	t.Helper()
	select {
	case <-w.hashed:
	case <-time.After(waitLimit):
		t.Fatal("background hashing not done")
	}
}
