//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
)

// BenchmarkLoad evaluates examples/hello in process and through the
// evaluator, and reports the median (p50) and p90 latency of each.
//
//	go test ./internal/sandbox/ -run '^$' -bench Load -benchtime 50x
func BenchmarkLoad(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(root, "examples", "hello", "Loopfile")
	opts := loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}}
	for _, bc := range []struct {
		name string
		load func() error
	}{
		{"in-process", func() error { _, err := loopfile.Load(context.Background(), path, opts); return err }},
		{"sandbox", func() error { _, err := Load(context.Background(), path, opts, Limits{}); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := bc.load(); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}
