//go:build unix

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
)

// The evaluating thread stops itself at the line that went over the
// limit, with no goroutine beside it: however long that goroutine would
// wait for a CPU on a busy machine, the step after a huge allocation reads
// the heap (the allocation took longer than MemoryPoll) and stops there,
// before the next line doubles it.
func TestMemoryGuard_stopsAtTheLineWithoutTheWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Loopfile")
	src := "A = 1\nX = \"x\" * (256 << 20)\nY = X + X\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	guard := newMemoryGuard(64 << 20)
	_, err := loopfile.Load(context.Background(), path, loopfile.Options{Check: guard.check})
	var le *loopfile.Error
	if !errorsAs(err, &le) {
		t.Fatalf("Load = %v, want a *loopfile.Error", err)
	}
	if le.Line != 2 || !strings.Contains(le.Msg, "over the limit of 64 MiB (LOOP_EVAL_MEMORY)") {
		t.Errorf("got %d:%d %q, want line 2 over the limit of 64 MiB", le.Line, le.Col, le.Msg)
	}
}

// BenchmarkMemoryGuard_check measures what the guard costs a Starlark
// step: a loop-heavy Loopfile evaluated in process without a Check and with
// the guard's (BenchmarkLoad_check in package loopfile has the bare hook).
//
//	go test ./internal/sandbox/ -run '^$' -bench MemoryGuard -count 5
func BenchmarkMemoryGuard_check(b *testing.B) {
	path := filepath.Join(b.TempDir(), "Loopfile")
	if err := os.WriteFile(path, []byte("def sum(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n\nsum(1000000)\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	guard := newMemoryGuard(1 << 40)
	for _, bc := range []struct {
		name  string
		check func() *loopfile.Stop
	}{{"without", nil}, {"guard", guard.check}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := loopfile.Options{MaxSteps: 1 << 62, Check: bc.check}
			for b.Loop() {
				if _, err := loopfile.Load(context.Background(), path, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
