//go:build unix

package engine

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/logs"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/trace"
)

// BenchmarkEngine_restartProcess is one change that restarts a real
// local process (sleep, which dies at once on SIGTERM): the batch handed
// to the engine -> stopped -> started -> ready (no readiness probe), with
// loopd's own tracing on as in loopd. Besides ns/op it reports the CPU
// time of this process per restart (cpu-µs/op) and the mean
// of each step of the change's trace (the breakdown in
// docs/benchmark.md): watch is the hand-off to the engine (ChangedAt's
// hop to the loop goroutine), stop the stop signal -> the group gone,
// pending the hop back to the loop goroutine, start the fork/exec and
// its bookkeeping, ready what is left until the ready state.
func BenchmarkEngine_restartProcess(b *testing.B) {
	dir := b.TempDir()
	store, err := logs.Open(filepath.Join(dir, ".logs"), 1000)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	traces := trace.NewStore(trace.Limits{PerResource: 1 << 20, MaxSpans: 1 << 20})
	e := New(Config{Project: "bench", Runtime: &process.Runtime{StateDir: filepath.Join(dir, "state")}, Logs: store,
		BaseEnv: os.Environ(), Tracer: trace.NewProvider(traces).Tracer("bench")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	src := filepath.Join(dir, "srv", "main.go")
	res := &model.Resource{
		Name: "srv", Kind: model.KindService, Cmd: []string{"sleep", "1000"}, Dir: dir,
		Deps: []string{filepath.Dir(src)}, Trigger: model.TriggerAuto, AutoStart: true,
		StopSignal: "SIGTERM", StopTimeout: 5 * time.Second, Restart: model.RestartOnChange,
	}
	p := &model.Project{Name: "bench", Dir: dir, Loopfile: filepath.Join(dir, "Loopfile"), Resources: []*model.Resource{res}}
	if err := e.SetProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	wait := func() {
		w, err := e.Wait(ctx)
		if err != nil || w.Outcome != api.OutcomeReady {
			b.Fatalf("wait: %+v %v", w, err)
		}
	}
	wait()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if err := e.ChangedAt(ctx, []string{src}, time.Now()); err != nil {
			b.Fatal(err)
		}
		wait()
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	steps := map[string]time.Duration{}
	n := 0
	for _, s := range traces.List("bench", "srv", 0) {
		tr, _ := traces.Get(s.TraceID)
		for _, sp := range tr.Spans {
			steps[sp.Name] += sp.End.Sub(sp.Start)
		}
		n++
	}
	if n == 0 {
		b.Fatal("no change traced")
	}
	for _, name := range []string{"save-to-live", "watch", "stop", "pending", "start", "ready"} {
		b.ReportMetric(float64(steps[name].Microseconds())/float64(n), name+"-µs/op")
	}
}

// cpuTime is the CPU time (user and system) this process used so far:
// the engine's, the runtime's and the benchmark's own, not the children's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
