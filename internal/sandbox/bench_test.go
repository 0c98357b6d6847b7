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

// BenchmarkLoad evaluates examples/hello in process, through an evaluator
// started for the evaluation (cold: Load), and through a Pool's idle
// evaluator (warm: the Loopfile saved after a pause, the idle one ready),
// and reports the median (p50) and p90 latency of each. pool-back-to-back
// evaluates again as soon as the last evaluation returned: the next
// evaluator has had no time to start, so it is partly warm at best.
//
//	go test ./internal/sandbox/ -run '^$' -bench Load -benchtime 50x
func BenchmarkLoad(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(root, "examples", "hello", "Loopfile")
	opts := loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}}
	pool := NewPool()
	defer pool.Close()
	for _, bc := range []struct {
		name   string
		before func(b *testing.B) // untimed
		load   func() error
	}{
		{"in-process", nil, func() error { _, err := loopfile.Load(context.Background(), path, opts); return err }},
		{"cold", nil, func() error { _, err := Load(context.Background(), path, opts, Limits{}); return err }},
		{"pool", func(b *testing.B) { idlePID(b, pool) }, func() error {
			_, err := pool.Load(context.Background(), path, opts, Limits{})
			return err
		}},
		{"pool-back-to-back", nil, func() error { _, err := pool.Load(context.Background(), path, opts, Limits{}); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				if bc.before != nil {
					b.StopTimer()
					bc.before(b)
					b.StartTimer()
				}
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
