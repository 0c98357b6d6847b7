//go:build unix

package sandbox

// The evaluator: the child side of Load.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // go:linkname

	"github.com/loopdev/loop/internal/loopfile"
)

// Exit codes of the evaluator other than 0 (a result was written) and 2
// (the Go runtime's, for a panic or a fatal error).
const (
	exitProtocol   = 3 // no usable request
	exitSchema     = 4 // the request came from a different build
	exitParentGone = 5 // stdin closed: nobody waits for the result
	exitStuck      = 6 // still running KillGrace after the timeout
	exitMemory     = 7 // the heap passed BackstopFactor times the limit (recMemory)
)

// resultFD is the descriptor of the result pipe (ExtraFiles[0]).
const resultFD = 3

// Main runs the evaluator: it says it is ready on fd 3, reads one request
// on stdin, evaluates, writes the result on fd 3 and returns the exit
// code. See the package comment.
func Main() int {
	// Commands that local() runs must not inherit the result pipe.
	syscall.CloseOnExec(resultFD)
	out := os.NewFile(resultFD, "result")
	// An idle evaluator is the first thing worth killing when memory runs
	// out, and a busy one the next.
	offerToOOMKiller()
	// The binary's start is paid: a Pool keeps this process here, idle
	// in the read below, until an evaluation needs it.
	if err := writeRecord(out, recReady, nil); err != nil {
		return exitParentGone
	}
	req, err := readRequest(os.Stdin)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// Stdin closed before a request: the parent is gone, or it
			// closed its Pool. Nobody waits for a word.
			return exitParentGone
		}
		fmt.Fprintln(os.Stderr, "loop evaluator:", err)
		if errors.Is(err, errSchema) {
			return exitSchema
		}
		return exitProtocol
	}
	// The parent holds stdin open until it has the result: end of file
	// means it is gone, and so is the reason to go on.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(exitParentGone)
	}()
	// Let the memory monitor run beside an evaluation that spins.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	// Collect garbage harder near the limit, so that mostly live data
	// trips the monitor.
	debug.SetMemoryLimit(req.Memory)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, req.Timeout, &loopfile.Stop{
		Msg: fmt.Sprintf("evaluation took longer than the limit of %s (%s)", req.Timeout, EnvTimeout),
		Hint: "is a loop or a local() command waiting for something? If the Loopfile really needs longer, " +
			"raise " + EnvTimeout + " in the environment loopd is started with",
	})
	defer cancelTimeout()
	// A syscall that never returns cannot see the cancellation: leave
	// anyway (the parent kills this process at the same time).
	time.AfterFunc(req.Timeout+KillGrace, func() {
		fmt.Fprintln(os.Stderr, "loop evaluator: still running after the time limit")
		os.Exit(exitStuck)
	})
	res := &results{w: out}
	// The parent watches the address space grow from here.
	if err := res.encode(recStart, addressSpace()); err != nil {
		fmt.Fprintln(os.Stderr, "loop evaluator:", err)
		return exitProtocol
	}
	guard := newMemoryGuard(req.Memory)
	stopMonitor := guard.watch(cancel, func(used int64) {
		res.encode(recMemory, used)
		os.Exit(exitMemory)
	})

	p, err := loopfile.Load(ctx, req.Path, loopfile.Options{
		Env:          req.Env,
		MaxSteps:     req.MaxSteps,
		LocalTimeout: req.LocalTimeout,
		Stdout:       os.Stdout,
		OnFile:       res.file,
		Check:        guard.check,
	})
	stopMonitor()
	if err != nil {
		err = res.encode(recError, toWire(err))
	} else {
		err = res.encode(recProject, p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loop evaluator:", err)
		return exitProtocol
	}
	return 0
}

// results writes the records of fd 3.
type results struct {
	mu  sync.Mutex
	w   io.Writer
	err error // the first write error; later records are not written
}

func (r *results) file(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = writeRecord(r.w, recFile, []byte(path))
	}
}

func (r *results) encode(kind byte, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = writeRecord(r.w, kind, b)
	}
	return r.err
}

// heapMetric is the memory the guard watches: bytes of Go heap objects,
// live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// memoryGuard stops an evaluation whose heap passes limit, at a line. The
// heap counts garbage not yet collected too; Main sets the runtime's
// memory limit to the same value, so the collector works hardest to keep
// garbage under it. (Confirming with a collection first would let the
// thread run on for seconds while a huge value is written.)
//
// The evaluating thread checks itself, between Starlark steps (check, its
// loopfile.Options.Check): it reads the heap when MemoryPoll has passed
// since it last did, so the step after one that allocated for long (a huge
// string is written for tens of milliseconds) always looks, however busy
// the machine. A goroutine beside it (watch) reads the heap every
// MemoryPoll too: it stops the evaluation within a long builtin call
// (cancel), and since one operation can allocate far more than the limit
// before the next step (`[0] * (1 << 28)` is 4 GiB), past BackstopFactor
// times the limit it calls abort at once instead.
type memoryGuard struct {
	limit  int64
	sample []metrics.Sample
	last   int64 // nanotime of the thread's last heap read
	over   atomic.Pointer[loopfile.Stop]
}

func newMemoryGuard(limit int64) *memoryGuard {
	return &memoryGuard{limit: limit, sample: []metrics.Sample{{Name: heapMetric}}, last: nanotime()}
}

// stop is the error of an evaluation over the limit; nil under it.
func (g *memoryGuard) stop(used int64) *loopfile.Stop {
	if used <= g.limit {
		return nil
	}
	return &loopfile.Stop{
		Msg: fmt.Sprintf("evaluation used %s of memory, over the limit of %s (%s)", mib(used), mib(g.limit), EnvMemory),
		Hint: "does the Loopfile build a huge string or list? If it really needs more, " +
			"raise " + EnvMemory + " in the environment loopd is started with",
	}
}

// check runs before every Starlark step, on the evaluating thread: a word
// and the clock, and the heap every MemoryPoll (measured: about 30 ns a
// step, where a bare step takes about 18: BenchmarkMemoryGuard_check).
func (g *memoryGuard) check() *loopfile.Stop {
	if s := g.over.Load(); s != nil {
		return s
	}
	now := nanotime()
	if now-g.last < int64(MemoryPoll) {
		return nil
	}
	g.last = now
	metrics.Read(g.sample)
	if s := g.stop(int64(g.sample[0].Value.Uint64())); s != nil {
		g.over.Store(s)
		return s
	}
	return nil
}

// watch reads the heap every MemoryPoll until the returned function is
// called (it waits for the goroutine to end).
func (g *memoryGuard) watch(cancel context.CancelCauseFunc, abort func(used int64)) func() {
	done := make(chan struct{})
	exited := make(chan struct{})
	sample := []metrics.Sample{{Name: heapMetric}}
	go func() {
		defer close(exited)
		tick := time.NewTicker(MemoryPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			used := int64(sample[0].Value.Uint64())
			if used > g.limit*BackstopFactor {
				abort(used)
				return
			}
			if s := g.stop(used); s != nil && g.over.CompareAndSwap(nil, s) {
				cancel(s)
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// nanotime is the runtime's monotonic clock: half the cost of time.Now,
// which reads the wall clock too, and check runs at every step.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
