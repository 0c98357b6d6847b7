package watch

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Flush hands over a change made just before it without waiting for the
// debounce (set to a minute here so only Flush can deliver it).
func TestWatcher_FlushDeliversPendingChange(t *testing.T) {
	root := t.TempDir()
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: time.Minute, MaxWait: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i := range 20 {
		p := filepath.Join(root, "f.txt")
		writeFile(t, p, "v"+string(rune('a'+i)))
		b, ok, err := w.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || len(b.Changes) != 1 || b.Changes[0].Path != p {
			t.Fatalf("round %d: Flush = %+v, %v; want the one change to %s", i, b.Changes, ok, p)
		}
	}
	if _, ok, err := w.Flush(ctx); err != nil || ok {
		t.Fatalf("Flush with nothing changed = ok %v, err %v; want nothing", ok, err)
	}
	noBatch(t, w)
}
