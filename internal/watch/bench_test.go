//go:build unix

package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeTree writes dirs directories of files files each (plus a .gitignore
// and an ignored node_modules at the top) under a new temp dir.
func makeTree(b *testing.B, dirs, files int) string {
	b.Helper()
	root := b.TempDir()
	writeFile(b, filepath.Join(root, ".gitignore"), "node_modules/\n*.o\n")
	content := []byte(strings.Repeat("package x // some source\n", 20))
	for d := range dirs {
		dir := filepath.Join(root, fmt.Sprintf("pkg%02d", d%50), fmt.Sprintf("d%04d", d))
		must(b, os.MkdirAll(dir, 0o755))
		for f := range files {
			must(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.go", f)), content, 0o644))
		}
	}
	for i := range 200 {
		writeFile(b, filepath.Join(root, "node_modules", fmt.Sprintf("m%d", i), "index.js"), "x")
	}
	ageFiles(b, root)
	return root
}

// BenchmarkWatcher_Ready100k measures New+Run until Ready on 5,000
// directories x 20 files, then (once) the background hashing time, the RSS
// and heap held, and the CPU used while idle.
func BenchmarkWatcher_Ready100k(b *testing.B) {
	root := makeTree(b, 5000, 20)
	runtime.GC()
	var last *Watcher
	var stop func()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if stop != nil {
			stop()
		}
		w, err := New(Options{Root: root, Paths: []string{root}})
		must(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		select {
		case <-w.Ready():
		case err := <-done:
			b.Fatalf("Run: %v", err)
		}
		last, stop = w, func() { cancel(); <-done }
	}
	b.StopTimer()
	defer stop()
	if got, want := last.WatchCount(), 5000+50+1; got != want {
		b.Fatalf("WatchCount = %d, want %d", got, want)
	}
	start := time.Now()
	<-last.hashed
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "hash-ms")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(rssMB(), "rss-MB")
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(time.Second)
	b.ReportMetric(100*float64(cpuTime()-cpu0)/float64(time.Since(t0)), "idle-cpu-%")
}

// BenchmarkWatcher_WriteToBatch measures a file write until its batch is
// received, with the default debounce and with a 1ms one (loop's overhead).
func BenchmarkWatcher_WriteToBatch(b *testing.B) {
	for _, debounce := range []time.Duration{defaultDebounce, time.Millisecond} {
		b.Run("debounce="+debounce.String(), func(b *testing.B) {
			root := makeTree(b, 100, 20)
			w := startWatcher(b, Options{Root: root, Paths: []string{root}, Debounce: debounce})
			p := filepath.Join(root, "pkg00", "d0000", "f00.go")
			samples := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				must(b, os.WriteFile(p, []byte(strconv.Itoa(i)), 0o644))
				bt := nextBatch(b, w)
				samples = append(samples, time.Since(start))
				if len(bt.Changes) != 1 || bt.Changes[0].Path != p {
					b.Fatalf("changes = %v, want a write of %s", bt.Changes, p)
				}
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return -1
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
