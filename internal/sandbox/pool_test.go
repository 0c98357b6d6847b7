//go:build linux

package sandbox

// These tests run real evaluators through a Pool. Their Loopfiles start
// with printPID, so the output says which process evaluated: the idle one
// the test saw before it asked (idlePID), or another.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/output"
)

// printPID is a first line that prints the pid of the evaluator.
const printPID = "local('echo $PPID')\n"

// newPool returns a Pool closed when the test ends, with no evaluator of
// this process left then.
func newPool(t *testing.T) *Pool {
	t.Helper()
	p := NewPool()
	t.Cleanup(func() {
		p.Close()
		if left := children(Arg); len(left) > 0 {
			t.Errorf("evaluators %v are alive after Close", left)
		}
	})
	return p
}

// idlePID waits until p has an idle evaluator ready for its request and
// returns its pid, leaving it idle. Nothing else may use p meanwhile.
func idlePID(t testing.TB, p *Pool) int {
	t.Helper()
	var c *child
	select {
	case c = <-p.idle:
	case <-time.After(time.Minute):
		t.Fatal("no idle evaluator after a minute")
	}
	<-c.ready
	if c.readyErr != nil {
		t.Fatalf("the idle evaluator did not start: %v", c.readyErr)
	}
	p.idle <- c
	return c.cmd.Process.Pid
}

// evaluatorPID is the pid printPID printed.
func evaluatorPID(t *testing.T, out string) int {
	t.Helper()
	line, _, _ := strings.Cut(out, "\n")
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("got output %q, want the evaluator's pid first", out)
	}
	return pid
}

// syncBuffer is a goroutine-safe buffer for Options.Stdout.
type syncBuffer struct{ output.Buffer }

// The evaluation runs in the evaluator started before it was asked, and
// the next one in the evaluator started when that one was taken: one
// evaluator per evaluation.
func TestPool_Load_usesTheIdleEvaluator(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": printPID + `service("api", "go run .", env = {"A": env("A")})`})
	p := newPool(t)
	opts := baseOptions()
	opts.Env = append(opts.Env, "A=a")
	var pids []int
	for range 2 {
		idle := idlePID(t, p)
		out := &syncBuffer{}
		opts.Stdout = out
		m, err := p.Load(context.Background(), path, opts, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if r := m.Resource("api"); r == nil || r.Env["A"] != "a" {
			t.Errorf("got %+v, want service api with A=a", m.Resources)
		}
		if got := evaluatorPID(t, out.String()); got != idle {
			t.Errorf("evaluated in %d, want the idle evaluator %d", got, idle)
		}
		if slices.Contains(children(Arg), idle) {
			t.Errorf("evaluator %d is alive after its evaluation", idle)
		}
		pids = append(pids, idle)
	}
	if pids[0] == pids[1] {
		t.Errorf("both evaluations ran in %d", pids[0])
	}
}

// An idle evaluator gives back exactly what loopfile.Load does: the
// contract of Load (TestLoad_sameAsInProcess) holds through the Pool.
func TestPool_Load_sameAsInProcess(t *testing.T) {
	root := repoRoot(t)
	errorsDir := filepath.Join(root, "internal", "loopfile", "testdata", "errors")
	stars, _ := filepath.Glob(filepath.Join(errorsDir, "*.star"))
	if len(stars) < 2 {
		t.Fatalf("found %d error fixtures in %s", len(stars), errorsDir)
	}
	paths := []string{
		everyBuiltin(t),
		filepath.Join(copyDir(t, filepath.Join(root, "examples", "hello")), "Loopfile"),
		stars[0], stars[len(stars)-1],
	}
	p := newPool(t)
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			var inOut, poolOut bytes.Buffer
			opts := loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH"), "API_TOKEN=t", "T=tok"}, Stdout: &inOut}
			want, wantErr := loopfile.Load(context.Background(), path, opts)
			opts.Stdout = &poolOut
			idlePID(t, p)
			got, gotErr := p.Load(context.Background(), path, opts, Limits{})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("project differs:\ngot  %+v\nwant %+v", got, want)
			}
			if want != nil && !reflect.DeepEqual(sharing(got), sharing(want)) {
				t.Errorf("shared values differ: got %v, want %v", sharing(got), sharing(want))
			}
			if !sameError(gotErr, wantErr) {
				t.Errorf("error differs:\ngot  %#v\nwant %#v", gotErr, wantErr)
			}
			if poolOut.String() != inOut.String() {
				t.Errorf("output differs:\ngot  %q\nwant %q", poolOut.String(), inOut.String())
			}
		})
	}
}

// The limits and the crash report hold in an idle evaluator as in one
// started for the evaluation: it is the same child, under the same watch.
func TestPool_Load_limits(t *testing.T) {
	const mem = MinMemory // 256 MiB
	tests := []struct {
		name, src string
		lim       Limits
		want      string
		line      int // 0: no line
	}{
		{"memory at a line",
			"def grow():\n    l = []\n    for i in range(1 << 30):\n        l.append(str(i) * 1024)\n\ngrow()\n",
			Limits{Memory: mem}, "over the limit of 256 MiB (LOOP_EVAL_MEMORY)", 5},
		{"memory in one operation", "\nL = [0] * (1 << 27)\n",
			Limits{Memory: mem}, "over 2 times the limit of 256 MiB (LOOP_EVAL_MEMORY), and was killed", 0},
		{"wall clock", "def spin():\n    for i in range(1 << 60):\n        pass\n\nspin()\n",
			// 5s: well past the time a busy machine takes to reach the loop.
			Limits{Timeout: 5 * time.Second}, "evaluation took longer than the limit of 5s (LOOP_EVAL_TIMEOUT)", 3},
		{"crash", "local('kill -9 $PPID; sleep 5')\n",
			Limits{}, "the evaluator was killed by signal 9", 0},
	}
	p := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeProject(t, map[string]string{"Loopfile": printPID + tt.src})
			opts := baseOptions()
			opts.MaxSteps = 1 << 62
			out := &syncBuffer{}
			opts.Stdout = out
			idle := idlePID(t, p)
			_, err := p.Load(context.Background(), path, opts, tt.lim)
			var e *loopfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want a *loopfile.Error", err, err)
			}
			t.Log(e)
			if raceDetector && strings.HasPrefix(tt.name, "memory") && strings.Contains(e.Msg, "over 2 times the limit") {
				tt.want, tt.line = "over 2 times the limit", 0 // race_test.go
			}
			if !strings.Contains(e.Msg, tt.want) || e.File != path || (tt.line != 0 && e.Line != tt.line) {
				t.Errorf("got %s, want %q at %s line %d", e, tt.want, path, tt.line)
			}
			if got := evaluatorPID(t, out.String()); got != idle {
				t.Errorf("evaluated in %d, want the idle evaluator %d", got, idle)
			}
		})
	}
	if hwm := peakRSS(t); hwm > maxTestRSS {
		t.Errorf("this process's peak RSS is %d MiB, want under %d MiB: the bombs went off here", hwm>>20, maxTestRSS>>20)
	}
}

// Cancelling the context kills the idle evaluator that took the
// evaluation at once, and its local() command with it.
func TestPool_Load_cancel(t *testing.T) {
	const marker = "3607.75" // sleep's argument, to find it in /proc
	path := writeProject(t, map[string]string{"Loopfile": printPID + "local('sleep " + marker + "')\n"})
	p := newPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := baseOptions()
	out := &syncBuffer{}
	var once sync.Once
	var wg sync.WaitGroup
	defer wg.Wait()
	opts.Stdout = writerFunc(func(b []byte) {
		out.Write(b)
		once.Do(func() {
			wg.Go(func() {
				waitFor(t, "sleep to start", func() bool { return len(processes(marker)) > 0 })
				cancel()
			})
		})
	})
	idle := idlePID(t, p)
	_, err := p.Load(ctx, path, opts, Limits{Timeout: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := evaluatorPID(t, out.String()); got != idle {
		t.Errorf("evaluated in %d, want the idle evaluator %d", got, idle)
	}
	waitFor(t, "the evaluator and its command to go", func() bool {
		return len(processes(marker)) == 0 && !slices.Contains(processes(Arg), idle)
	})
}

// Several projects evaluating at once: one takes the idle evaluator, the
// others start their own; each gets its own result.
func TestPool_Load_concurrent(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": printPID + `service("s", "true", env = {"N": env("N")})`})
	p := newPool(t)
	idle := idlePID(t, p)
	const n = 4
	pids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			opts := baseOptions()
			opts.Env = append(opts.Env, "N="+strconv.Itoa(i))
			out := &syncBuffer{}
			opts.Stdout = out
			m, err := p.Load(context.Background(), path, opts, Limits{})
			if err != nil {
				t.Error(err)
				return
			}
			if r := m.Resource("s"); r == nil || r.Env["N"] != strconv.Itoa(i) {
				t.Errorf("evaluation %d: got %+v, want N=%d", i, m.Resources, i)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
			if err != nil {
				t.Errorf("evaluation %d: got output %q, want a pid", i, out.String())
			}
			pids[i] = pid
		})
	}
	wg.Wait()
	if !slices.Contains(pids, idle) {
		t.Errorf("evaluators %v, want the idle one %d among them", pids, idle)
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(pids))); len(distinct) != n {
		t.Errorf("evaluators %v, want %d different ones", pids, n)
	}
}

// An idle evaluator started before the environment it keeps changed is
// not used: the evaluation starts one with the new environment.
func TestPool_Load_environmentChanged(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": printPID + `fail(local("tr '\\0' '\\n' < /proc/$PPID/environ", quiet = True))`})
	p := newPool(t)
	idle := idlePID(t, p)
	t.Setenv("TZ", "Antarctica/Troll")
	out := &syncBuffer{}
	opts := baseOptions()
	opts.Stdout = out
	_, err := p.Load(context.Background(), path, opts, Limits{})
	var e *loopfile.Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "TZ=Antarctica/Troll") {
		t.Errorf("got %v, want the evaluator's environment with the new TZ", err)
	}
	if got := evaluatorPID(t, out.String()); got == idle {
		t.Errorf("evaluated in the idle evaluator %d, started with the old environment", idle)
	}
	if slices.Contains(children(Arg), idle) {
		t.Errorf("the stale idle evaluator %d is still alive", idle)
	}
}

// An idle evaluator that died (the OOM killer's first choice) is not
// used: the evaluation starts its own.
func TestPool_Load_idleEvaluatorDied(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": printPID + `task("t", "true")`})
	p := newPool(t)
	idle := idlePID(t, p)
	syscall.Kill(idle, syscall.SIGKILL)
	c := <-p.idle
	<-c.exited
	p.idle <- c
	out := &syncBuffer{}
	opts := baseOptions()
	opts.Stdout = out
	if _, err := p.Load(context.Background(), path, opts, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := evaluatorPID(t, out.String()); got == idle {
		t.Errorf("evaluated in %d, which was killed", got)
	}
}

// Close ends the idle evaluator before it returns; a Load after Close
// evaluates in an evaluator of its own, which leaves nothing either.
func TestPool_Close(t *testing.T) {
	p := NewPool()
	idle := idlePID(t, p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if left := children(Arg); len(left) > 0 {
		t.Errorf("evaluators %v (the idle one was %d) are alive after Close", left, idle)
	}
	p.Close()
	path := writeProject(t, map[string]string{"Loopfile": `task("t", "true")`})
	if _, err := p.Load(context.Background(), path, baseOptions(), Limits{}); err != nil {
		t.Fatal(err)
	}
	if left := children(Arg); len(left) > 0 {
		t.Errorf("evaluators %v are alive after a Load after Close", left)
	}
	// Close right after NewPool, with the first evaluator still starting.
	p = NewPool()
	p.Close()
	if left := children(Arg); len(left) > 0 {
		t.Errorf("evaluators %v are alive after Close", left)
	}
}

// A nil Pool evaluates as Load does.
func TestPool_Load_nil(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": `task("t", "true")`})
	var p *Pool
	if m, err := p.Load(context.Background(), path, baseOptions(), Limits{}); err != nil || m.Resource("t") == nil {
		t.Errorf("got %v, %v, want task t", m, err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

func init() { helperMains["pool-owner"] = poolOwnerMain }

// poolOwnerMain is a process that owns a Pool: it prints the pid of its
// idle evaluator once it is ready, and then waits to be killed.
func poolOwnerMain() int {
	p := NewPool()
	c := <-p.idle
	<-c.ready
	if c.readyErr != nil {
		fmt.Fprintln(os.Stderr, "the idle evaluator did not start:", c.readyErr)
		return 1
	}
	p.idle <- c
	fmt.Println(c.cmd.Process.Pid)
	io.Copy(io.Discard, os.Stdin) // until the test kills this process
	return 0
}

// An owner killed with SIGKILL, which runs none of its code, leaves no
// idle evaluator behind: its stdin ends, and it exits.
func TestPool_ownerKilled(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	owner := exec.Command(exe)
	owner.Env = append(os.Environ(), envHelper+"=pool-owner")
	owner.Stderr = os.Stderr
	stdin, err := owner.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("the owner said %q (%v), want its idle evaluator's pid", line, err)
	}
	if !slices.Contains(processes(Arg), pid) {
		t.Fatalf("the idle evaluator %d is not running", pid)
	}
	owner.Process.Kill()
	owner.Wait()
	waitFor(t, "the idle evaluator to end", func() bool { return !slices.Contains(processes(Arg), pid) })
}
