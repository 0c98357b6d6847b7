// Package process runs resources as local processes: loop's default runtime.
//
// Every process starts as the root of a group of its own (type group), so
// the stop signal reaches the whole tree a command spawns (`sh -c "npm run
// dev"` and what npm starts): Stop signals the group, waits until the
// leader has exited and the group is empty, and escalates to a kill after
// the stop timeout. A port is therefore free again when Stop returns.
//
// On Unix the group is a process group (kill(-pgid)). On Windows it is a
// job object: the stop signal becomes CTRL_BREAK to the leader's console
// process group, the kill TerminateJobObject (see group_windows.go).
//
// No process may outlive the daemon. On Unix three mechanisms see to it:
//
//  1. The reaper sidecar (Runtime.Reaper, see StartReaper): the daemon
//     tells it about every group over a pipe; when the daemon dies, however
//     it dies, the pipe closes and the reaper SIGKILLs every group still
//     listed, grandchildren and all. It costs one write per start.
//  2. Pdeathsig (Linux only): the kernel sends each group leader SIGKILL
//     when its parent dies. Linux ties this to the *thread* that forked the
//     child, not to the process, and Go forks from whichever OS thread the
//     calling goroutine happens to run on; if that thread exits, the child
//     is killed early. So every process is started from one goroutine that
//     locked itself to its OS thread and never unlocks or returns (see
//     StartCommand): that thread lives exactly as long as the daemon.
//  3. State files: with Runtime.StateDir set, each started group is
//     recorded in a file there (pgid, the leader's start time, the boot
//     id: from /proc on Linux, sysctl on macOS; written just after Start
//     returns, by the goroutine that reaps the leader), removed once the group is
//     gone. ReapOrphans, called when the daemon starts, kills the groups a
//     killed predecessor left behind (should the reaper itself have been
//     killed), after checking that the pgid still names the same group, so
//     a recycled PID is never killed.
//
// On Windows the kernel does it alone: each job object is created with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, and only the daemon holds a handle to
// it, so when the daemon dies, however it dies, the whole tree dies. The
// reaper then only removes directories (RemoveOnExit), and nothing is
// recorded for ReapOrphans.
//
// A member that leaves its group (setsid, as double-forking daemons do; a
// job breakaway on Windows) escapes all of this; loop does not chase it.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/cmdpath"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/signame"
)

// Defaults for a Spec that leaves them zero.
const (
	DefaultStopSignal  = syscall.SIGTERM
	DefaultStopTimeout = 10 * time.Second
)

const (
	// outputGrace is how long Done waits for the output pipes to reach EOF
	// after the leader exited. They stay open while a backgrounded
	// grandchild holds them; its output keeps flowing to the writers after
	// Done until the group is stopped.
	outputGrace = 200 * time.Millisecond
	// killWait bounds the wait after SIGKILL (a process in
	// uninterruptible sleep may take a while to die).
	killWait = 5 * time.Second
)

// Runtime starts local processes. The zero value is ready to use; set
// StateDir to let ReapOrphans clean up after a daemon that was killed.
type Runtime struct {
	Logger   *slog.Logger // nil: slog.Default()
	StateDir string       // where started process groups are recorded (not on Windows); "" records nothing
	// Reaper, when set, is told about every group so that it kills all
	// of them, grandchildren included, the moment the daemon dies (see
	// StartReaper). Without it only Pdeathsig (Linux) kills each leader
	// and the rest waits for ReapOrphans. (On Windows job objects do this.)
	Reaper *Reaper
}

var _ runtime.Runtime = (*Runtime)(nil)

// Start starts spec.Argv in its own group (see the package comment). argv[0] is looked up in
// the PATH of spec.Env (nil Env means the daemon's environment). ctx bounds
// only the start; the process runs until it exits or Stop is called.
// Output is copied to spec.Stdout and spec.Stderr (nil discards it); a
// writer with a `Flush() error` method is flushed at EOF, so a final line
// without a newline is not lost.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("start %s: empty command", spec.Name)
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("start %s: working directory %q does not exist; create it or fix dir=: %w", spec.Name, spec.Dir, err)
		case err != nil:
			return nil, fmt.Errorf("start %s: working directory: %w", spec.Name, err)
		case !fi.IsDir():
			return nil, fmt.Errorf("start %s: working directory %q is not a directory", spec.Name, spec.Dir)
		}
	}
	if err := model.CheckEnviron(spec.Env); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	env := spec.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := cmdpath.Look(spec.Argv[0], spec.Dir, env)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}

	cmd := &exec.Cmd{Path: path, Args: spec.Argv, Dir: spec.Dir, Env: env}
	outs, err := openOutputs(cmd, spec.Stdout, spec.Stderr)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	grp, err := startGroup(cmd)
	if err != nil {
		outs.abort()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	outs.started()

	logger := r.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h := &handle{
		name:        spec.Name,
		pid:         cmd.Process.Pid,
		group:       grp,
		stopSignal:  spec.StopSignal,
		stopTimeout: spec.StopTimeout,
		logger:      logger.With("resource", spec.Name, "pid", cmd.Process.Pid),
		done:        make(chan struct{}),
		reaper:      r.Reaper,
	}
	if h.stopSignal == 0 {
		h.stopSignal = DefaultStopSignal
	}
	if h.stopTimeout <= 0 {
		h.stopTimeout = DefaultStopTimeout
	}
	h.reaper.add(h.pid)
	h.logger.Debug("started", "argv", spec.Argv)
	go h.wait(cmd, outs, r.StateDir, spec)
	return h, nil
}

// handle is one started process and its group.
type handle struct {
	name        string
	pid         int // the leader's (== its pgid on Unix)
	group       *group
	stopSignal  syscall.Signal
	stopTimeout time.Duration
	logger      *slog.Logger
	stateFile   string // "" when not recorded; set by wait before done is closed
	reaper      *Reaper

	done chan struct{}
	exit runtime.Exit // written by wait before done is closed

	stopMu    sync.Mutex  // serialises Stop
	groupGone atomic.Bool // once true the pgid may be recycled (the job is closed): never signal it again
}

var _ runtime.Handle = (*handle)(nil)

func (h *handle) Done() <-chan struct{} { return h.done }
func (h *handle) Pid() int              { return h.pid }

func (h *handle) Exit() runtime.Exit {
	select {
	case <-h.done:
		return h.exit
	default:
		return runtime.Exit{Code: -1}
	}
}

// wait records the group (in stateDir, unless ""), reaps the leader,
// waits for its output and closes done.
//
// The record is written here, off Start's path (a restart waits for
// Start; the file costs a few hundred microseconds of syscalls): before
// the leader is reaped, so its start time is still readable, and before
// done, after which forget may remove it. The reaper was told about the
// group in Start already. If the record fails the process still runs,
// covered by the reaper and (on Linux) Pdeathsig alone.
func (h *handle) wait(cmd *exec.Cmd, outs *outputs, stateDir string, spec runtime.Spec) {
	if stateDir != "" {
		f, err := recordGroup(stateDir, h.pid, spec)
		if err != nil {
			h.logger.Warn("record process group", "err", err)
		}
		h.stateFile = f
	}
	err := cmd.Wait()
	h.exit = exitOf(cmd.ProcessState, err)
	outs.wait(outputGrace)
	h.logger.Debug("exited", "exit", h.exit.String())
	close(h.done)
	if !h.group.alive() {
		h.forget()
	}
}

// Stop sends the stop signal to the group, waits up to the stop timeout for
// the leader to exit and the group to empty, then SIGKILLs the group. If
// ctx ends first, it escalates to SIGKILL at once. It returns once the
// group is gone. On a process that already exited it kills any leftover
// group members and returns.
func (h *handle) Stop(ctx context.Context) error {
	h.stopMu.Lock()
	defer h.stopMu.Unlock()

	select {
	case <-h.done:
		return h.killLeftovers()
	default:
	}

	if err := h.signal(h.stopSignal); err != nil {
		return fmt.Errorf("stop %s: %w", h.name, err)
	}
	grace := time.NewTimer(h.stopTimeout)
	defer grace.Stop()
	if h.waitGone(ctx, grace.C) {
		h.forget()
		return nil
	}
	h.logger.Info("stop timeout: killing process group", "signal", signame.String(h.stopSignal), "timeout", h.stopTimeout.String())
	return h.kill()
}

// killLeftovers kills what is left of the group after the leader exited
// (a backgrounded grandchild).
func (h *handle) killLeftovers() error {
	if h.groupGone.Load() || !h.group.alive() {
		h.forget()
		return nil
	}
	h.logger.Debug("killing leftover group members")
	return h.kill()
}

func (h *handle) kill() error {
	if err := h.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("stop %s: %w", h.name, err)
	}
	deadline := time.NewTimer(killWait)
	defer deadline.Stop()
	if !h.waitGone(context.Background(), deadline.C) {
		return fmt.Errorf("stop %s: process group %d still alive %s after SIGKILL", h.name, h.pid, killWait)
	}
	h.forget()
	return nil
}

// signal sends sig to the whole group. A group that is already gone is not
// an error.
func (h *handle) signal(sig syscall.Signal) error {
	if h.groupGone.Load() {
		return nil
	}
	return h.group.signal(sig)
}

// waitGone waits until the leader has exited and no live member is left in
// the group. It reports false if deadline fires or ctx ends first.
func (h *handle) waitGone(ctx context.Context, deadline <-chan time.Time) bool {
	select {
	case <-h.done:
	case <-deadline:
		return false
	case <-ctx.Done():
		return false
	}
	// Usually the group went with its leader: no timer at all then.
	if h.groupGone.Load() || !h.group.alive() {
		return true
	}
	interval := time.Millisecond
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		}
		if h.groupGone.Load() || !h.group.alive() {
			return true
		}
		interval = min(interval*2, 50*time.Millisecond)
		t.Reset(interval)
	}
}

// forget marks the group as gone, releases it and removes its state file.
func (h *handle) forget() {
	h.groupGone.Store(true)
	h.group.release()
	h.reaper.remove(h.pid)
	if h.stateFile != "" {
		if err := os.Remove(h.stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			h.logger.Warn("remove process group record", "err", err)
		}
	}
}

func exitOf(ps *os.ProcessState, err error) runtime.Exit {
	if ps == nil {
		return runtime.Exit{Code: -1, Signal: ""}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return runtime.Exit{Code: -1, Signal: signame.String(ws.Signal())}
	}
	return runtime.Exit{Code: ps.ExitCode()}
}

// outputs are the pipes between a process and the Spec's writers.
type outputs struct {
	writeEnds []*os.File // closed in the parent once the child started
	readEnds  []*os.File
	copied    sync.WaitGroup
}

func openOutputs(cmd *exec.Cmd, stdout, stderr io.Writer) (*outputs, error) {
	o := &outputs{}
	pipe := func(dst io.Writer) (*os.File, error) {
		if dst == nil {
			return nil, nil // exec connects the null device
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("output pipe: %w", err)
		}
		o.readEnds = append(o.readEnds, r)
		o.writeEnds = append(o.writeEnds, w)
		o.copied.Add(1)
		go copyOutput(&o.copied, dst, r)
		return w, nil
	}
	w, err := pipe(stdout)
	if err != nil {
		return nil, err
	}
	if w != nil { // never a typed nil in cmd.Stdout
		cmd.Stdout = w
	}
	if sameWriter(stdout, stderr) {
		if w != nil {
			cmd.Stderr = w // one pipe keeps the interleaving
		}
		return o, nil
	}
	w, err = pipe(stderr)
	if err != nil {
		o.abort()
		return nil, err
	}
	if w != nil {
		cmd.Stderr = w
	}
	return o, nil
}

// started closes the parent's copies of the write ends, so the read ends
// see EOF once every process holding them is gone.
func (o *outputs) started() {
	for _, w := range o.writeEnds {
		w.Close()
	}
}

// abort releases everything after a failed start.
func (o *outputs) abort() {
	o.started()
	o.copied.Wait()
}

// wait waits for the copies to reach EOF, at most grace. Copies that are
// still running (a grandchild holds a pipe) carry on until EOF.
func (o *outputs) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		o.copied.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

type flusher interface{ Flush() error }

func copyOutput(wg *sync.WaitGroup, dst io.Writer, r *os.File) {
	defer wg.Done()
	defer r.Close()
	if _, err := io.Copy(dst, r); err != nil {
		// The writer failed; keep draining so the process never blocks on
		// a full pipe.
		io.Copy(io.Discard, r)
	}
	if f, ok := dst.(flusher); ok {
		f.Flush()
	}
}

// sameWriter reports a == b without panicking on uncomparable types.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
