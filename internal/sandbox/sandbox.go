// Package sandbox evaluates a Loopfile in a child process, so that no
// Loopfile can take down the process that asked: loopd, which runs every
// project of its user, or `loop lsp`, which evaluates as the user types.
//
// Starlark bounds steps, not memory: `"x" * (1 << 29)` is one step and
// half a gigabyte, and a panic in starlark-go or in a builtin, a runaway
// allocation or a read that never returns would otherwise be the whole
// daemon's. So Load re-executes the running binary with the hidden
// argument Arg (cmd/loopd and the TestMains of test binaries
// that evaluate through here dispatch it to Main, first thing), sends it
// the request on stdin and gets back, on their own pipes, the output of
// print() and local() live (to Options.Stdout) and the result: exactly
// what loopfile.Load returns in process, the *model.Project or the
// *loopfile.Error with its position, hint and Files.
//
// The child is bounded, and anything that goes wrong in it is a
// *loopfile.Error at the Loopfile, never the caller's crash or hang:
//
//   - memory: the evaluating thread reads the Go heap between Starlark
//     steps, every MemoryPoll, and stops the evaluation past
//     Limits.Memory at the line that ran last (memoryGuard; a goroutine
//     beside it reads it too, for long builtin calls). One operation can allocate far more before the thread
//     reaches its next step (`[0] * (1 << 28)` is 4 GiB at once), so past
//     BackstopFactor times the limit the child gives up at once, and the
//     parent kills it when its resident memory or the growth of its
//     address space passes that (Linux), whatever state its runtime is
//     in. The child also offers itself first to the kernel's out-of-memory
//     killer. Go reserves over a gigabyte of address space at start, so
//     an RLIMIT_AS would be a guess; these limits are not.
//   - time: the child stops the evaluation at Limits.Timeout, at the line
//     that was running; the parent kills it KillGrace later (a syscall
//     that never returns), and at once when the caller's context ends.
//     A killed or crashed child's local() commands go with it: it leads a
//     session of its own, which the parent ends (Linux).
//   - environment: the child gets only PATH, HOME and the like (keepEnv),
//     none of loopd's secrets; the project's environment travels in the
//     request as Options.Env, for env() and local().
//   - crashes: a panic, a fatal error or a signal is reported with the
//     child's last lines of stderr.
//
// Starting the evaluator is most of an evaluation's cost: the runtime and
// the init of every package of loop's binary take tens of milliseconds,
// the evaluation of a Loopfile a fraction of one. A Pool (NewPool), which
// loopd and `loop lsp` own, keeps one evaluator started ahead of time,
// idle and blocked reading its request, so an evaluation costs only the
// request, the evaluation and the result; taking it starts the next one.
// It is the same child under the same bounds, used for one evaluation
// and gone after it; evaluations that find none waiting start their own,
// as Load always does. An idle evaluator ends when its stdin does: when
// the Pool is closed, or its owner dies however it dies.
//
// The builtins' own bounds (file types and sizes, local() output, the
// output of an evaluation) are loopfile's and hold in process too. Where
// there is no evaluator process yet (Windows: no inherited fd 3), Load
// evaluates in process with the time limit alone (other.go).
package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// Arg is the hidden first argument that makes loop or loopd (or a test
// binary) an evaluator: its main calls Main when os.Args[1] == Arg.
const Arg = "__loop-eval"

// Limits of one evaluation. A zero field takes its value from the
// environment of the process that calls Load (loopd's, or loop lsp's):
// EnvMemory and EnvTimeout, else the default.
type Limits struct {
	Memory  int64         // bytes of Go heap; DefaultMemory
	Timeout time.Duration // wall clock of the whole evaluation, local() commands included; DefaultTimeout
}

// Defaults and bounds of the limits, and the variables that override them.
const (
	// DefaultMemory is the heap an evaluation may use. A Loopfile needs a
	// few megabytes; this leaves room for big generated configurations.
	DefaultMemory = 512 << 20
	// MinMemory is the smallest Memory accepted. Go takes heap address
	// space 64 MiB at a time, so under a few times that the parent's watch
	// of the address space would kill an evaluation before the heap
	// monitor could stop it at a line.
	MinMemory = 256 << 20
	// DefaultTimeout bounds a whole evaluation. local() commands have
	// their own, shorter bound (loopfile.DefaultLocalTimeout).
	DefaultTimeout = 2 * time.Minute
	// EnvMemory overrides DefaultMemory: "512MiB", "1GiB", "800M" or bytes.
	EnvMemory = "LOOP_EVAL_MEMORY"
	// EnvTimeout overrides DefaultTimeout: a Go duration, "2m", "90s".
	EnvTimeout = "LOOP_EVAL_TIMEOUT"
)

// How the limits are enforced.
const (
	// MemoryPoll is how often the child reads its heap size.
	MemoryPoll = 5 * time.Millisecond
	// BackstopFactor: past this many times Limits.Memory (heap, resident
	// memory or address space grown), the evaluation is killed without
	// waiting for it to reach a line.
	BackstopFactor = 2
	// RSSPoll is how often the parent reads the child's memory.
	RSSPoll = 10 * time.Millisecond
	// KillGrace is how long after Limits.Timeout the parent kills a child
	// that has not stopped by itself.
	KillGrace = 5 * time.Second
	// MaxResult bounds the encoded project (or error) the child returns.
	MaxResult = 64 << 20
	// stderrKeep bounds what the parent keeps of the child's stderr: the
	// last stderrLines lines, at most stderrKeep bytes.
	stderrKeep  = 2048
	stderrLines = 10
)

// Load evaluates the Loopfile at path in a child process and returns what
// loopfile.Load would: the project, or a *loopfile.Error. print() and
// local() output reaches opts.Stdout as it is written, and opts.OnFile is
// called (from one goroutine) with each file as evaluation reads it; both
// are done when Load returns. When ctx ends, the child is killed at once.
func Load(ctx context.Context, path string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	abs, lim, err := prepare(path, lim)
	if err != nil {
		return nil, err
	}
	return run(ctx, abs, opts, lim)
}

// prepare makes path absolute and resolves lim, or says why no evaluation
// can start (as a *loopfile.Error at the Loopfile).
func prepare(path string, lim Limits) (string, Limits, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", lim, &loopfile.Error{File: path, Msg: fmt.Sprintf("load: %v", err)}
	}
	if lim, err = lim.resolve(os.Getenv); err != nil {
		return "", lim, &loopfile.Error{File: abs, Msg: err.Error(), Files: []string{abs},
			Hint: "fix the variable in the environment loopd (or loop lsp) was started with, and restart it"}
	}
	if os.Getenv(childMarker) != "" {
		// This process is an evaluator that ran its caller's code instead
		// of Main: a binary that does not dispatch Arg. Refuse rather than
		// re-execute again and again.
		return "", lim, &loopfile.Error{File: abs, Files: []string{abs},
			Msg:  "evaluate: this binary does not dispatch " + Arg,
			Hint: "call sandbox.Main when os.Args[1] == sandbox.Arg, first thing in main (or TestMain)"}
	}
	return abs, lim, nil
}

// resolve fills the zero fields from getenv, then the defaults.
func (l Limits) resolve(getenv func(string) string) (Limits, error) {
	if l.Memory == 0 {
		l.Memory = DefaultMemory
		if v := getenv(EnvMemory); v != "" {
			n, err := parseSize(v)
			if err != nil {
				return l, fmt.Errorf("%s=%q: %v", EnvMemory, v, err)
			}
			l.Memory = n
		}
	}
	if l.Memory < MinMemory {
		return l, fmt.Errorf("evaluation memory limit %s is under the minimum of %s (%s)", mib(l.Memory), mib(MinMemory), EnvMemory)
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
		if v := getenv(EnvTimeout); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return l, fmt.Errorf("%s=%q: not a positive duration (e.g. 2m, 90s)", EnvTimeout, v)
			}
			l.Timeout = d
		}
	}
	return l, nil
}

// parseSize reads "512MiB", "512M", "1 GiB", "1g" or a number of bytes.
// Every unit is binary.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := 0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		}
		if shift > 0 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("not a size (e.g. 512MiB, 1GiB)")
	}
	return n << shift, nil
}

// mib renders bytes as whole mebibytes, rounded up: "612 MiB".
func mib(n int64) string { return fmt.Sprintf("%d MiB", (n+1<<20-1)>>20) }
