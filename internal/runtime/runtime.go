// Package runtime defines how the engine runs a resource's command: a
// Runtime starts a Spec and returns a Handle that reports the exit and can
// stop the process tree. Implementations live in sub-packages (process/ for
// local processes; container runtimes later).
package runtime

import (
	"context"
	"io"
	"strconv"
	"syscall"
	"time"
)

// Spec is one command to run.
type Spec struct {
	Name        string   // resource name, for errors and logs
	Argv        []string // argv[0] is looked up in PATH of Env
	Dir         string
	Env         []string // the complete environment ("K=V")
	Stdout      io.Writer
	Stderr      io.Writer
	StopSignal  syscall.Signal
	StopTimeout time.Duration
}

// Exit says how a process ended.
type Exit struct {
	Code   int    // exit code; -1 when killed by a signal
	Signal string // signal name when killed by one ("SIGKILL")
}

// Success reports whether the process exited 0.
func (e Exit) Success() bool { return e.Code == 0 && e.Signal == "" }

func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	if e.Code == 0 {
		return "exited 0"
	}
	return "exited " + strconv.Itoa(e.Code)
}

// Runtime starts commands.
type Runtime interface {
	Start(ctx context.Context, spec Spec) (Handle, error)
}

// Handle is one started command.
type Handle interface {
	// Done is closed when the process has exited and its output is flushed.
	Done() <-chan struct{}
	// Exit is valid once Done is closed.
	Exit() Exit
	// Stop sends the stop signal to the whole process group, waits up to
	// the stop timeout, then kills the group, and returns once it has exited.
	Stop(ctx context.Context) error
	// Pid is the process (group leader) ID.
	Pid() int
}
