// Package isolate contains panics. loopd runs every project of its user;
// a bug that panics in one project's goroutine must not take down loopd
// and every other project with it. Each long-lived goroutine of a project
// (its engine loop, its watcher loop, the goroutines that start, update
// and stop its resources) defers Recover, which turns a panic into a
// *Panic handed to the project, reported as that project's failure (with
// the stack in loopd.log), while the rest of loopd runs on.
//
// Recovering is a last resort, not error handling: the code that panicked
// is a bug to fix, and its project may be left inconsistent, which the
// report says (`loop down` and `loop up` start it clean).
package isolate

import (
	"fmt"
	"runtime/debug"
)

// Panic is a recovered panic: what was running, the panic's value and
// the goroutine's stack.
type Panic struct {
	What  string // "engine", "watcher", "start api", ...
	Value any
	Stack []byte
}

func (p *Panic) Error() string {
	return fmt.Sprintf("internal error in %s: %v (a bug in loop: please report it with loopd.log)", p.What, p.Value)
}

// Recover, deferred directly (`defer isolate.Recover("engine", report)`),
// stops a panic of the goroutine and hands it to report. A nil report
// only stops it. It does nothing without a panic.
func Recover(what string, report func(*Panic)) {
	v := recover()
	if v == nil {
		return
	}
	p := &Panic{What: what, Value: v, Stack: debug.Stack()}
	if report != nil {
		report(p)
	}
}

// Call runs f and returns its panic, if any, as a *Panic.
func Call(what string, f func()) (p *Panic) {
	defer Recover(what, func(r *Panic) { p = r })
	f()
	return nil
}
