package loopfile

// Tests of Options.Check, the hook that can stop an evaluation before any
// Starlark step (package sandbox stops at its memory limit with it).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// Check stops the evaluation at the step right after the one that made it
// say stop, and the error is at the instruction that ran last: here the
// call of print (line 2, its '('), not the lookup of read_file that comes next
// (2:19).
func TestLoad_checkStopsAtTheLastInstruction(t *testing.T) {
	stop := &Stop{Msg: "evaluation used 9 MiB, over the limit of 8 MiB (TEST)", Hint: "use less"}
	var printed atomic.Bool
	e, dir := mustError(t, map[string]string{
		"Loopfile": "x = 1\ny = [print(\"go\"), read_file(\"not stopped\")]\n",
	}, Options{
		Stdout: printFlag{&printed},
		Check: func() *Stop {
			if printed.Load() {
				return stop
			}
			return nil
		},
	})
	if e.Msg != stop.Msg || e.Hint != stop.Hint {
		t.Errorf("got %q (hint %q), want %q (hint %q)", e.Msg, e.Hint, stop.Msg, stop.Hint)
	}
	if want := filepath.Join(dir, "Loopfile"); e.File != want || e.Line != 2 || e.Col != 11 {
		t.Errorf("got %s:%d:%d, want %s:2:11", e.File, e.Line, e.Col, want)
	}
	if !errors.Is(e, stop) {
		t.Errorf("got cause %v, want the *Stop", errors.Unwrap(e))
	}
}

// printFlag is a Stdout that sets its flag when anything is printed.
type printFlag struct{ printed *atomic.Bool }

func (f printFlag) Write(p []byte) (int, error) {
	f.printed.Store(true)
	return len(p), nil
}

// With Check, the step limit holds at the same step, and Check runs before
// every step under it.
func TestLoad_checkKeepsTheStepLimit(t *testing.T) {
	const maxSteps = 1000
	src := "def spin():\n    for i in range(1 << 40):\n        pass\nspin()\n"
	var calls uint64
	without, _ := mustError(t, map[string]string{"Loopfile": src}, Options{MaxSteps: maxSteps})
	with, _ := mustError(t, map[string]string{"Loopfile": src}, Options{MaxSteps: maxSteps, Check: func() *Stop {
		calls++
		return nil
	}})
	want := fmt.Sprintf("step limit exceeded (%d Starlark steps)", maxSteps)
	if with.Msg != want || with.Msg != without.Msg || with.Line != without.Line || with.Col != without.Col {
		t.Errorf("got %q at %d:%d, want %q at %d:%d as without Check", with.Msg, with.Line, with.Col, without.Msg, without.Line, without.Col)
	}
	// Steps 1 to maxSteps-1 were checked; at step maxSteps the limit hit.
	if calls != maxSteps-1 {
		t.Errorf("Check ran %d times, want %d (before each step under the limit)", calls, maxSteps-1)
	}
}

// A Check that never stops changes nothing.
func TestLoad_checkNeverStopping(t *testing.T) {
	p, _, err := fixture(t, map[string]string{"Loopfile": `task("t", "true")`}, Options{Check: func() *Stop { return nil }})
	if err != nil || p.Resource("t") == nil {
		t.Fatalf("got %v, %v, want the task", p, err)
	}
}

// BenchmarkLoad_check measures what Options.Check costs a step: a
// loop-heavy Loopfile evaluated without Check and with one that loads a
// word, as package sandbox's does. ns/step is the time of an evaluation
// over its steps (counted by the Check).
//
//	go test ./internal/loopfile/ -run '^$' -bench Load_check -count 5
func BenchmarkLoad_check(b *testing.B) {
	path := filepath.Join(b.TempDir(), "Loopfile")
	if err := os.WriteFile(path, []byte("def sum(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n\nsum(1000000)\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	var word atomic.Int64
	check := func() *Stop {
		if word.Load() != 0 {
			return &Stop{Msg: "stop"}
		}
		return nil
	}
	var steps uint64
	if _, err := Load(context.Background(), path, Options{MaxSteps: 1 << 62, Check: func() *Stop {
		steps++
		return check()
	}}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		check func() *Stop
	}{{"without", nil}, {"with", check}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{MaxSteps: 1 << 62, Check: bc.check}
			for b.Loop() {
				if _, err := Load(context.Background(), path, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
			b.ReportMetric(float64(steps), "steps")
		})
	}
}
