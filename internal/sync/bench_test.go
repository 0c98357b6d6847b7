package sync

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// discard is a Target that reads and drops the stream.
type discard struct{ deletes int }

var _ Target = (*discard)(nil)

func (d *discard) Copy(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (d *discard) Delete(_ context.Context, paths []string) error {
	d.deletes += len(paths)
	return nil
}

// burst writes n files of 1-4 KiB (a source tree after a git checkout) in
// 100 directories and returns the rules and the changed paths.
func burst(b *testing.B, n int) ([]model.SyncRule, []string, int64) {
	b.Helper()
	root := tempRoot(b)
	src := filepath.Join(root, "src")
	var changed []string
	var total int64
	content := make([]byte, 4096)
	for i := range content {
		content[i] = byte('a' + i%26)
	}
	for i := range n {
		dir := filepath.Join(src, fmt.Sprintf("pkg%02d", i%100))
		if i < 100 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("file%05d.go", i))
		size := 1024 + (i*397)%3072
		if err := os.WriteFile(p, content[:size], 0o644); err != nil {
			b.Fatal(err)
		}
		changed = append(changed, p)
		total += int64(size)
	}
	return []model.SyncRule{{Local: src, Remote: "/app"}}, changed, total
}

// BenchmarkApply10k: a 10,000-file batch as one tar stream into a target
// that discards it. Reports MB/s of file content and ns per file.
func BenchmarkApply10k(b *testing.B) {
	rules, changed, total := burst(b, 10_000)
	plan := NewPlan(rules, changed)
	opts := Options{Root: filepath.Dir(rules[0].Local), UID: 1000, GID: 1000}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		st, err := Apply(b.Context(), &discard{}, plan, opts)
		if err != nil || st.Files != len(changed) {
			b.Fatalf("Apply: %+v, %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(changed)), "ns/file")
}

// BenchmarkNewPlanApply10k: the whole sync step for the burst, planning
// (Lstat of every path) included.
func BenchmarkNewPlanApply10k(b *testing.B) {
	rules, changed, total := burst(b, 10_000)
	opts := Options{Root: filepath.Dir(rules[0].Local), UID: 1000, GID: 1000}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(b.Context(), &discard{}, NewPlan(rules, changed), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(changed)), "ns/file")
}
