package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// On Linux a lone save goes when its writer closes the file: with an hour
// of Settle and Debounce, only the close-write can deliver it.
func TestWatcher_LoneSaveOnCloseWrite(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "main.go")
	writeFile(t, target, "old")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Settle: time.Hour, Debounce: time.Hour, MaxWait: 2 * time.Hour})
	waitHashed(t, w)
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	for i := range 4 { // written in chunks, as vim does: one change
		_, err = f.WriteString(fmt.Sprintf("chunk %d\n", i))
		must(t, err)
	}
	must(t, f.Close())
	if got, want := fmt.Sprint(nextBatch(t, w).Changes), fmt.Sprint([]Change{{target, Write}}); got != want {
		t.Fatalf("changes = %s, want %s", got, want)
	}
}

// A file still open for writing is not a lone save yet: written and not
// closed, it waits for Debounce.
func TestWatcher_OpenFileWaitsForDebounce(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "main.go")
	writeFile(t, target, "old")
	const debounce = 150 * time.Millisecond
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: debounce, MaxWait: time.Minute})
	waitHashed(t, w)
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	defer f.Close()
	_, err = f.WriteString("half of it")
	must(t, err)
	b := nextBatch(t, w)
	if got := b.End.Sub(b.Start); got < debounce {
		t.Errorf("batch closed %v after its first event, before the %v debounce, with the file still open", got, debounce)
	}
}
