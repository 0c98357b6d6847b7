package sync

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestApply_deletesAndVanished(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"src/keep.txt": "k", "src/vanish.txt": "v"})
	src := filepath.Join(root, "src")
	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}},
		[]string{filepath.Join(src, "keep.txt"), filepath.Join(src, "vanish.txt"), filepath.Join(src, "old.txt")})
	if err := os.Remove(filepath.Join(src, "vanish.txt")); err != nil { // between the plan and Apply
		t.Fatal(err)
	}
	var rec recorder
	st, err := Apply(t.Context(), &rec, plan, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"/app/old.txt", "/app/vanish.txt"}}; len(rec.deletes) != 1 || !slices.Equal(rec.deletes[0], want[0]) {
		t.Errorf("deletes %q, want %q", rec.deletes, want)
	}
	if st.Deleted != 2 || st.Files != 1 {
		t.Errorf("stats %+v, want 1 file, 2 deleted", st)
	}
}

func TestApply_unsafePlan(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"a.txt": "a"})
	a := filepath.Join(root, "a.txt")
	plan := Plan{
		Copies:  []File{{a, "/app/../etc/a"}, {a, "app/a"}, {a, "/app/./a"}, {"relative", "/app/r"}},
		Deletes: []string{"/", "/app/../etc", "etc", ""},
	}
	var rec recorder
	st, err := Apply(t.Context(), &rec, plan, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if rec.copies != 0 || len(rec.deletes) != 0 {
		t.Errorf("Copy calls %d, Delete calls %d; want none", rec.copies, len(rec.deletes))
	}
	if len(st.Refused) != 8 {
		t.Errorf("refused %d, want 8: %q", len(st.Refused), st.Refused)
	}
}

func TestApply_nothingToDo(t *testing.T) {
	var rec recorder
	st, err := Apply(t.Context(), &rec, Plan{Unmatched: []string{"/x"}}, Options{})
	if err != nil || rec.copies != 0 || len(rec.deletes) != 0 || st.Files != 0 {
		t.Errorf("Apply(empty) = %+v, %v; Copy %d, Delete %d: want nothing", st, err, rec.copies, len(rec.deletes))
	}
}

// funcTarget is a Target made of functions.
type funcTarget struct {
	copy   func(context.Context, io.Reader) error
	delete func(context.Context, []string) error
}

var _ Target = funcTarget{}

func (f funcTarget) Copy(ctx context.Context, r io.Reader) error  { return f.copy(ctx, r) }
func (f funcTarget) Delete(ctx context.Context, p []string) error { return f.delete(ctx, p) }
func noDelete(context.Context, []string) error                    { return errors.New("unexpected Delete") }
func TestApply_copyErrors(t *testing.T) {
	root := tempRoot(t)
	files := map[string]string{}
	for i := range 50 {
		files["src/f"+string(rune('a'+i%26))+string(rune('a'+i/26))] = strings.Repeat("x", 100_000)
	}
	write(t, root, files)
	src := filepath.Join(root, "src")
	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}}, []string{src})
	boom := errors.New("boom")

	tests := []struct {
		name string
		copy func(context.Context, io.Reader) error
		want error
	}{
		{"target fails after a few bytes", func(_ context.Context, r io.Reader) error {
			_, _ = io.ReadFull(r, make([]byte, 1000))
			return boom
		}, boom},
		{"target stops reading without an error", func(_ context.Context, r io.Reader) error {
			_, _ = io.ReadFull(r, make([]byte, 1000))
			return nil
		}, errStreamClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(t.Context(), funcTarget{tt.copy, noDelete}, plan, Options{Root: root})
			if !errors.Is(err, tt.want) {
				t.Errorf("Apply: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestApply_canceled(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"src/a.txt": "a"})
	src := filepath.Join(root, "src")
	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}}, []string{filepath.Join(src, "a.txt")})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	copyCtx := func(ctx context.Context, r io.Reader) error {
		_, _ = io.Copy(io.Discard, r)
		return ctx.Err()
	}
	if _, err := Apply(ctx, funcTarget{copyCtx, noDelete}, plan, Options{Root: root}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply(canceled) = %v, want context.Canceled", err)
	}
}
