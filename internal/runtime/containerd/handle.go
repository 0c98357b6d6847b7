//go:build linux

package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/signame"
	"github.com/loopdev/loop/internal/supervise"
)

// killWait bounds the wait after SIGKILL.
const killWait = 5 * time.Second

// handle is one started (or adopted) container task.
type handle struct {
	rt     *Runtime
	cli    *client.Client
	ctr    client.Container
	task   client.Task
	spec   runtime.Spec
	cfg    *config
	logger *slog.Logger

	done    chan struct{}
	exit    runtime.Exit // written before done is closed
	killing atomic.Bool  // Stop signalled the task: a 128+n exit is that signal

	stopMu  sync.Mutex // serializes Stop
	removed bool       // guarded by stopMu

	restarts *supervise.Restarts   // the task's stderr, watched for the supervisor's restart lines
	live     *liveupdate.Container // the live-update policy, over this handle
}

var (
	_ runtime.Handle    = (*handle)(nil)
	_ runtime.Updater   = (*handle)(nil)
	_ runtime.Restarter = (*handle)(nil)
	_ runtime.Execer    = (*handle)(nil)
)

func (h *handle) Done() <-chan struct{} { return h.done }
func (h *handle) Exit() runtime.Exit    { return h.exit }
func (h *handle) Pid() int              { return int(h.task.Pid()) }

// outputs returns the spec's writers (nil discards).
func outputs(spec runtime.Spec) (io.Writer, io.Writer) {
	out, errw := spec.Stdout, spec.Stderr
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = io.Discard
	}
	return out, errw
}

// startTask creates ctr's task with its output going to the spec's
// writers and starts it.
func (r *Runtime) startTask(ctx context.Context, cli *client.Client, ctr client.Container, spec runtime.Spec, cfg *config, logger *slog.Logger) (*handle, error) {
	// A record left by an earlier task (a loopd killed before it deleted
	// it) still holds an address: release it first.
	if err := r.detach(ctx, ctr.ID(), spec.Project); err != nil {
		return nil, err
	}
	if err := r.attach(ctx, cfg.net, ctr.ID(), spec, cfg); err != nil {
		return nil, err
	}
	out, errw := outputs(spec)
	rs := supervise.NewRestarts(errw)
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, out, rs)))
	if err != nil {
		r.detach(context.WithoutCancel(ctx), ctr.ID(), spec.Project)
		return nil, fmt.Errorf("create task of %s: %w", ctr.ID(), err)
	}
	abort := func(err error) (*handle, error) {
		r.deleteTask(context.WithoutCancel(ctx), task, spec.Project, client.WithProcessKill)
		return nil, err
	}
	h, err := r.watch(ctx, cli, ctr, task, spec, cfg, logger)
	if err != nil {
		return abort(err)
	}
	h.restarts = rs
	h.live = h.newLive()
	if err := h.initialSync(ctx, false); err != nil {
		return abort(err)
	}
	if err := h.writeFiles(ctx); err != nil {
		return abort(err)
	}
	if err := task.Start(ctx); err != nil {
		return abort(fmt.Errorf("start task of %s: %w", ctr.ID(), err))
	}
	logger.Debug("started", "pid", task.Pid())
	return h, nil
}

// adopt takes over ctr, whose configuration is current: its running task
// when its output can be re-attached, else a new task in the same
// container (nil handle: the caller starts one).
func (r *Runtime) adopt(ctx context.Context, cli *client.Client, ctr client.Container, spec runtime.Spec, cfg *config, logger *slog.Logger) (*handle, error) {
	out, errw := outputs(spec)
	rs := supervise.NewRestarts(errw)
	task, err := ctr.Task(ctx, reattach(cio.NewAttach(cio.WithStreams(nil, out, rs))))
	if errdefs.IsNotFound(err) {
		logger.Info("adopted container, starting its task")
		return nil, nil
	}
	if err == nil {
		var st client.Status
		if st, err = task.Status(ctx); err == nil {
			if st.Status == client.Running {
				// Its address is in its record, for the others' hosts files.
				var werr error
				if m, merr := r.readMeta(ctr.ID()); merr != nil {
					werr = fmt.Errorf("no network record: %w", merr)
				} else {
					m.Aliases = spec.Container.Aliases
					werr = r.recordHosts(m)
				}
				var h *handle
				if werr == nil {
					h, werr = r.watch(ctx, cli, ctr, task, spec, cfg, logger)
				}
				if h != nil {
					h.restarts = rs
					h.live = h.newLive()
				}
				if werr == nil {
					werr = h.writeFiles(ctx)
				}
				if werr == nil {
					logger.Info("adopted running container", "pid", task.Pid())
					if err := h.initialSync(ctx, true); err != nil {
						// It runs: stale files are the next change's to fix.
						logger.Warn("adopted container", "err", err)
					}
					return h, nil
				}
				err = werr
			} else {
				err = fmt.Errorf("task is %s", st.Status)
			}
		}
		if io := task.IO(); io != nil {
			io.Cancel()
			io.Close()
		}
	}
	// A stopped task, or a running one whose output cannot be re-attached:
	// start over in the same container (its filesystem stays).
	logger.Info("adopted container, restarting its task", "reason", err)
	if task, err := ctr.Task(ctx, nil); err == nil {
		if err := r.deleteTask(ctx, task, spec.Project, client.WithProcessKill); err != nil {
			return nil, fmt.Errorf("remove old task of %s: %w", ctr.ID(), err)
		}
	}
	return nil, nil
}

// reattach refuses to attach to output fifos that no longer exist (the
// previous daemon closed them): opening them would create new, unconnected
// ones and the output would be silently lost.
func reattach(attach cio.Attach) cio.Attach {
	return func(set *cio.FIFOSet) (cio.IO, error) {
		if set != nil {
			for _, p := range []string{set.Stdout, set.Stderr} {
				if p == "" {
					continue
				}
				fi, err := os.Stat(p)
				if err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
					return nil, fmt.Errorf("output fifo %s is gone", p)
				}
			}
		}
		return attach(set)
	}
}

// watch returns a handle for task and starts waiting for its exit.
func (r *Runtime) watch(ctx context.Context, cli *client.Client, ctr client.Container, task client.Task, spec runtime.Spec, cfg *config, logger *slog.Logger) (*handle, error) {
	statusC, err := task.Wait(r.ctx(context.Background()))
	if err != nil {
		return nil, fmt.Errorf("wait for task of %s: %w", ctr.ID(), err)
	}
	h := &handle{rt: r, cli: cli, ctr: ctr, task: task, spec: spec, cfg: cfg, logger: logger, done: make(chan struct{})}
	go func() {
		st := <-statusC
		if io := task.IO(); io != nil {
			io.Wait()
		}
		flush(spec.Stdout)
		flush(spec.Stderr)
		h.exit = h.exitOf(st)
		h.logger.Debug("exited", "exit", h.exit.String())
		close(h.done)
	}()
	return h, nil
}

// exitOf maps a task's exit status: runc reports a death by signal n as
// 128+n, which is reported as the signal when Stop sent one.
func (h *handle) exitOf(st client.ExitStatus) runtime.Exit {
	code, _, err := st.Result()
	if err != nil {
		if errdefs.IsCanceled(err) { // the Runtime was closed
			h.logger.Debug("task exit status", "err", err)
		} else {
			h.logger.Warn("task exit status", "err", err)
		}
		return runtime.Exit{Code: -1, Signal: "unknown"}
	}
	if h.killing.Load() && code > 128 && code < 128+65 {
		return runtime.Exit{Code: -1, Signal: signame.Flag(syscall.Signal(code - 128))}
	}
	return runtime.Exit{Code: int(code)}
}

// flush flushes a writer with a Flush method, so a last line without a
// newline is not held back.
func flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		f.Flush()
	}
}

// Stop sends the stop signal to the container's PID 1 (the supervisor
// passes it to the service's process group), SIGKILLs every process of the
// container after the stop timeout, then removes the task, the container
// and its snapshot.
func (h *handle) Stop(ctx context.Context) error {
	h.stopMu.Lock()
	defer h.stopMu.Unlock()
	if h.removed {
		return nil
	}
	cctx := h.rt.ctx(context.WithoutCancel(ctx))
	select {
	case <-h.done:
	default:
		h.killing.Store(true)
		if err := h.task.Kill(cctx, h.cfg.StopSignal); err != nil && !errdefs.IsNotFound(err) {
			h.logger.Warn("stop signal", "err", err)
		}
		t := time.NewTimer(h.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-h.done:
		case <-t.C:
		case <-ctx.Done():
		}
		select {
		case <-h.done:
		default:
			if err := h.task.Kill(cctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
				h.logger.Warn("kill", "err", err)
			}
			select {
			case <-h.done:
			case <-time.After(killWait):
				return fmt.Errorf("stop %s: container %s still running %s after SIGKILL", h.spec.Name, h.ctr.ID(), killWait)
			}
		}
	}
	if err := h.rt.deleteTask(cctx, h.task, h.spec.Project); err != nil {
		return fmt.Errorf("stop %s: remove task: %w", h.spec.Name, err)
	}
	if err := h.ctr.Delete(cctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop %s: remove container %s: %w", h.spec.Name, h.ctr.ID(), err)
	}
	h.removed = true
	return nil
}

// running reports whether the task has not exited.
func (h *handle) running() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// errStopped is returned by operations that need the task running.
var errStopped = errors.New("the container is not running")
