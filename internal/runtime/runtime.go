// Package runtime defines how the engine runs a resource's command: a
// Runtime starts a Spec and returns a Handle that reports the exit and can
// stop the process tree. Implementations live in sub-packages: process/ for
// local processes, docker/ and containerd/ for containers.
package runtime

import (
	"context"
	"errors"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/model"
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

	// Container runtimes only.
	Project    string           // project name: the dev.loop.project label
	ProjectDir string           // absolute project root: sync never reads outside it
	Container  *model.Container // what to run; Argv/Dir are unused then
	// Kubernetes runtime only: what to apply and track, and where.
	Workload *model.Workload
	Cluster  *model.Cluster
	Home     string // loop's state root (markers, supervisor copy)
	// Ignore reports host paths the initial sync must neither copy nor
	// delete in the container (.git, watch_settings and resource ignores).
	Ignore func(hostPath string, isDir bool) bool
	// Files are written into the container (absolute path -> content,
	// mode 0400, owned by the container user) before its service starts:
	// secrets given with secret(..., file=NAME) land in /run/secrets/NAME.
	Files map[string]string
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

// ErrRebuild is returned by Updater.Update when a change cannot be applied
// in place (outside every sync rule, or under rebuild_on): the engine then
// stops the resource and starts it again, rebuilding and recreating.
var ErrRebuild = errors.New("change needs a rebuild")

// Updater is a Handle that applies file changes in place (containers):
// sync the changed files under sync rules (deletes included), run the
// on_change steps whose triggers match, and restart the service in place
// when a restart() step is present. A failing run step returns its error
// (with the step's output) and does not restart.
type Updater interface {
	Update(ctx context.Context, changed []string) error
}

// Restarter is a Handle that restarts its service in place (the
// container stays; only the service process is replaced). Restart returns
// once the new process runs.
type Restarter interface {
	Restart(ctx context.Context) error
}

// Remover is a container Runtime that removes what a resource left behind
// when it has no live handle (a container that exited and waits for its
// crash restart): loop down and disable leave nothing.
type Remover interface {
	Remove(ctx context.Context, spec Spec) error
}

// ExecSpec is a command to run inside a running resource (loop exec).
type ExecSpec struct {
	Argv    []string
	User    string   // "" = the resource's remote user
	Workdir string   // "" = the resource's workspace folder
	Env     []string // added to the resource's remote env
	TTY     bool
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Execer is a Handle that runs commands inside the resource.
type Execer interface {
	Exec(ctx context.Context, spec ExecSpec) (exitCode int, err error)
}

// EngineWarner is a container runtime that can say what its engine warns
// about itself (Docker's `info` Warnings: "IPv4 forwarding is disabled.
// Networking will not work."): a service that never gets ready there may
// be the engine's fault, not the service's.
type EngineWarner interface {
	EngineWarnings(ctx context.Context) ([]string, error)
}

// HealthState is how a Watched resource is doing.
type HealthState string

const (
	HealthStarting HealthState = "starting" // rolling out, pending, pulling its image
	HealthReady    HealthState = "ready"    // rolled out, every pod ready
	HealthFailing  HealthState = "failing"  // crash-looping, its image cannot be pulled, OOMKilled, unschedulable
)

// Health is a Watched resource's state as its runtime sees it, with the
// reason ("CrashLoopBackOff: back-off 10s restarting failed container
// app" and the container's last log lines; "Pending: 0/1 nodes are
// available: ...").
type Health struct {
	State  HealthState
	Reason string
}

// Watched is a Handle whose runtime watches its health itself (a
// Kubernetes workload: the cluster, not loop, restarts its crashed
// pods): the engine takes readiness and failures from Health instead of
// restarting the resource when a process exits. Health delivers the
// current state first, then each change; Done closes when the resource
// is gone (stopped, or deleted behind loop's back) or, for one that runs
// to completion, finished.
type Watched interface {
	Health() <-chan Health
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
