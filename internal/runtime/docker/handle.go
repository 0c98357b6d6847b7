package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/recv"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/signame"
	"github.com/loopdev/loop/internal/supervise"
)

// logGrace bounds the wait for the log stream to end after the container
// stopped.
const logGrace = 2 * time.Second

// handle is one started container.
type handle struct {
	r    *Runtime
	cli  *client.Client
	spec runtime.Spec
	c    *model.Container
	id   string
	out  *outputs

	uid, gid int // owner of synced files
	// env is the environment of exec and lifecycle commands and cenv the
	// container's own (for ${containerEnv:VAR}): set by resolveEnv before
	// Start returns, read-only after, so they need no lock.
	env      []string
	cenv     map[string]string
	pid      int
	restarts *supervise.Restarts // the log stream's stderr, watched for restart lines

	live *liveupdate.Container // the live-update policy, over this handle
	recv recv.Channel          // the sync channel into the running container

	done chan struct{}
	exit runtime.Exit // written before done is closed
}

var (
	_ runtime.Remover   = (*Runtime)(nil)
	_ runtime.Handle    = (*handle)(nil)
	_ runtime.Updater   = (*handle)(nil)
	_ runtime.Restarter = (*handle)(nil)
	_ runtime.Execer    = (*handle)(nil)
)

func (h *handle) Done() <-chan struct{} { return h.done }
func (h *handle) Exit() runtime.Exit    { return h.exit }
func (h *handle) Pid() int              { return h.pid }

// ContainerID is the container ID (the engine shows it to `loop exec`).
func (h *handle) ContainerID() string { return h.id }

func (h *handle) stopTimeout() time.Duration {
	if h.spec.StopTimeout > 0 {
		return h.spec.StopTimeout
	}
	return DefaultStopTimeout
}

// watch follows the container's logs (since is "" for all of them) and
// closes done once it stopped and the log stream ended.
func (h *handle) watch(since string) {
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		defer h.out.flush()
		rc, err := h.cli.ContainerLogs(context.Background(), h.id, container.LogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: true, Since: since,
		})
		if err != nil {
			h.r.logger().Warn("container logs", "resource", h.spec.Name, "err", err)
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(h.out.stdout, h.restarts, rc)
	}()
	waitC, errC := h.cli.ContainerWait(context.Background(), h.id, container.WaitConditionNotRunning)
	go func() {
		var exit runtime.Exit
		select {
		case w := <-waitC:
			oom := false
			if info, err := h.cli.ContainerInspect(context.Background(), h.id); err == nil && info.State != nil {
				oom = info.State.OOMKilled
			}
			exit = signalExit(int(w.StatusCode), oom)
		case err := <-errC:
			h.r.logger().Warn("container wait", "resource", h.spec.Name, "err", err)
			exit = runtime.Exit{Code: -1}
		}
		select {
		case <-logsDone:
		case <-time.After(logGrace):
		}
		h.recv.Stop()
		h.exit = exit
		close(h.done)
	}()
}

// Stop stops the container (the supervisor sends the stop signal to the
// service and kills it after the stop timeout) and removes it; named
// volumes stay. The container is removed (killed first) also when the
// stop fails or ctx ends before it completes: a stopped resource leaves
// no container.
func (h *handle) Stop(ctx context.Context) error {
	h.recv.Stop()
	t := int((h.stopTimeout() + stopGrace).Seconds())
	var errs []error
	if err := h.cli.ContainerStop(ctx, h.id, container.StopOptions{Timeout: &t}); err != nil && !client.IsErrNotFound(err) {
		errs = append(errs, err)
	}
	rctx, cancel := settled(ctx)
	defer cancel()
	if err := h.cli.ContainerRemove(rctx, h.id, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("stop %s: remove container: %w", h.spec.Name, errors.Join(append(errs, err)...))
	}
	select {
	case <-h.done:
	case <-rctx.Done():
		errs = append(errs, fmt.Errorf("container removed, its log stream did not end: %w", rctx.Err()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("stop %s: %w", h.spec.Name, errors.Join(errs...))
	}
	return nil
}

// Exec runs a command in the container as the remote user (by default)
// in the workspace folder, with the remote env added.
func (h *handle) Exec(ctx context.Context, spec runtime.ExecSpec) (int, error) {
	user := spec.User
	if user == "" {
		user = h.remoteUser()
	}
	dir := spec.Workdir
	if dir == "" {
		dir = h.c.Workdir
	}
	env := append(slices.Clip(h.env), spec.Env...)
	if err := model.CheckEnviron(env); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	code, err := h.exec(ctx, execOpts{argv: spec.Argv, user: user, dir: dir, env: env, tty: spec.TTY, stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr})
	if err != nil {
		return code, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	return code, nil
}

func (h *handle) remoteUser() string {
	if h.c.RemoteUser != "" {
		return h.c.RemoteUser
	}
	return h.c.User
}

type execOpts struct {
	argv           []string
	user, dir      string
	env            []string
	tty            bool
	stdin          io.Reader
	stdout, stderr io.Writer
}

// exec runs o.argv in the container and returns its exit code.
func (h *handle) exec(ctx context.Context, o execOpts) (int, error) {
	return Exec(ctx, h.cli, h.id, runtime.ExecSpec{
		Argv: o.argv, User: o.user, Workdir: o.dir, Env: o.env, TTY: o.tty,
		Stdin: o.stdin, Stdout: o.stdout, Stderr: o.stderr,
	}, nil)
}

// outputs serializes writes to a resource's stdout and stderr, which the
// log stream and exec'd commands share.
type outputs struct {
	mu             sync.Mutex
	w, e           io.Writer
	stdout, stderr io.Writer
}

func newOutputs(stdout, stderr io.Writer) *outputs {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	o := &outputs{w: stdout, e: stderr}
	o.stdout = output.NewLockedBy(&o.mu, stdout)
	o.stderr = output.NewLockedBy(&o.mu, stderr)
	return o
}

// flush flushes writers with a `Flush() error` method, so that a last
// line without a newline is not lost.
func (o *outputs) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range []io.Writer{o.w, o.e} {
		if f, ok := w.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
	}
}

// signalExit maps a container exit code to an Exit.
func signalExit(code int, oom bool) runtime.Exit {
	if oom {
		return runtime.Exit{Code: -1, Signal: "SIGKILL"}
	}
	if code > 128 && code < 128+65 {
		if name := signame.LinuxName(syscall.Signal(code - 128)); name != "" {
			return runtime.Exit{Code: -1, Signal: name}
		}
	}
	return runtime.Exit{Code: code}
}
