//go:build linux

package containerd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime"
)

// Exec runs spec.Argv in the running container, as the resource's remote
// user (else the container's user) in its working directory, with the
// remote env and spec.Env added to the container's environment. It returns
// the command's exit code.
func (h *handle) Exec(ctx context.Context, spec runtime.ExecSpec) (int, error) {
	if len(spec.Argv) == 0 {
		return -1, fmt.Errorf("exec in %s: empty command", h.spec.Name)
	}
	c := h.spec.Container
	user := firstNonEmpty(spec.User, c.RemoteUser)
	env := make([]string, 0, len(c.RemoteEnv)+len(spec.Env))
	for _, k := range slices.Sorted(maps.Keys(c.RemoteEnv)) {
		env = append(env, k+"="+c.RemoteEnv[k])
	}
	env = append(env, spec.Env...)
	if err := model.CheckEnviron(env); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	p, err := h.process(ctx, spec.Argv, user, spec.Workdir, env, spec.TTY)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	code, err := h.run(ctx, p, spec.Stdin, spec.Stdout, spec.Stderr)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	return code, nil
}

// Exec runs spec in the running task of container id, for `loop exec`
// and `loop shell`, which reach containerd from the CLI as they reach the
// Docker engine (loopd's own handles implement runtime.Execer): the
// caller gives User, Workdir and Env as the daemon described them ("" user
// or workdir: the container's). Address and Namespace come from the same
// environment variables as loopd's, which a loopd started by the CLI
// shares.
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (int, error) {
	ctx = r.ctx(ctx)
	cli, err := r.client(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	ctr, err := cli.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return -1, fmt.Errorf("exec in %s: no such container in containerd namespace %s at %s: run loop with the LOOP_CONTAINERD_ADDRESS and LOOP_CONTAINERD_NAMESPACE loopd has", id, r.namespace(), r.address())
	}
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err == nil {
		var st client.Status
		if st, err = task.Status(ctx); err == nil && st.Status != client.Running {
			err = fmt.Errorf("its task is %s", st.Status)
		}
	}
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w: %w", id, errStopped, err)
	}
	h := &handle{rt: r, cli: cli, ctr: ctr, task: task, logger: r.logger().With("container", id),
		spec: runtime.Spec{Name: id, Container: &model.Container{}}, done: make(chan struct{})}
	return h.Exec(ctx, spec)
}

// ContainerID is the container's ID (the engine shows it to `loop exec`).
func (h *handle) ContainerID() string { return h.ctr.ID() }

// process derives an exec process from the container's: argv as user ("":
// the container's) in workdir ("": the container's), env added.
func (h *handle) process(ctx context.Context, argv []string, user, workdir string, env []string, tty bool) (*specs.Process, error) {
	if !h.running() {
		return nil, errStopped
	}
	s, err := h.ctr.Spec(h.rt.ctx(ctx))
	if err != nil {
		return nil, fmt.Errorf("container spec: %w", err)
	}
	if s.Process == nil {
		return nil, errors.New("container spec has no process")
	}
	p := *s.Process
	p.Args, p.Terminal, p.ConsoleSize = argv, tty, nil
	p.Env = mergeEnv(p.Env, env)
	if workdir != "" {
		p.Cwd = workdir
	}
	if user != "" {
		// Resolve names in the container's own /etc/passwd and
		// /etc/group, as its running root shows them.
		us := &oci.Spec{Process: &p, Root: &specs.Root{Path: h.rootfs()}, Linux: &specs.Linux{}}
		p.User = specs.User{}
		if err := oci.WithUser(user)(ctx, nil, &containers.Container{}, us); err != nil {
			return nil, fmt.Errorf("user %s: %w", user, err)
		}
	}
	return &p, nil
}

// mergeEnv returns base with each K=V of add set (replacing K).
func mergeEnv(base, add []string) []string {
	out := slices.Clone(base)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool {
			ek, _, _ := strings.Cut(e, "=")
			return ek == k
		})
		out = append(out, kv)
	}
	return out
}

// run runs p in the task and returns its exit code. Cancelling ctx kills
// it.
func (h *handle) run(ctx context.Context, p *specs.Process, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cctx := h.rt.ctx(context.WithoutCancel(ctx))
	// Unique within the task, whoever else execs in it (the daemon's
	// handle, `loop exec` from the CLI, a previous daemon's handle).
	id := "loop-exec-" + strings.ToLower(rand.Text())
	// The shim needs every output fifo it is given a name for.
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var ready stdinReady
	if stdin != nil {
		stdin = &stdinCloser{r: stdin, ready: &ready}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	if p.Terminal {
		opts = append(opts, cio.WithTerminal)
	}
	proc, err := h.task.Exec(cctx, id, p, cio.NewCreator(opts...))
	if err != nil {
		return -1, err
	}
	defer proc.Delete(cctx, client.WithProcessKill)
	statusC, err := proc.Wait(cctx)
	if err != nil {
		return -1, err
	}
	if err := proc.Start(cctx); err != nil {
		return -1, err
	}
	ready.set(func() { proc.CloseIO(cctx, client.WithStdinCloser) })
	if p.Terminal {
		defer followSize(cctx, proc, stdout)()
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		proc.Kill(cctx, syscall.SIGKILL)
		st = <-statusC
	}
	proc.IO().Wait()
	code, _, err := st.Result()
	if err != nil {
		return -1, err
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return int(code), nil
}

// output runs argv in the container as user ("": the container's), in
// its working directory, and returns its combined output; a non-zero exit is an error
// that carries the output.
func (h *handle) output(ctx context.Context, argv []string, user string) ([]byte, error) {
	p, err := h.process(ctx, argv, user, "", nil, false)
	if err != nil {
		return nil, err
	}
	var out output.Buffer
	code, err := h.run(ctx, p, nil, &out, &out)
	b := out.Bytes()
	if err != nil {
		return b, err
	}
	if code != 0 {
		return b, fmt.Errorf("%s exited %d: %s", strings.Join(argv, " "), code, bytes.TrimSpace(output.Last(b, 4096)))
	}
	return b, nil
}

// stdinReady holds the function that closes an exec's stdin, set once
// the process has started.
type stdinReady struct {
	mu    sync.Mutex
	fn    func()
	atEOF bool
}

func (s *stdinReady) set(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn = fn
	if s.atEOF {
		fn()
	}
}

func (s *stdinReady) eof() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.atEOF && s.fn != nil {
		s.fn()
	}
	s.atEOF = true
}

// stdinCloser closes the process's stdin in the shim when the reader is
// exhausted, so the command sees EOF.
type stdinCloser struct {
	r     io.Reader
	ready *stdinReady
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.ready.eof()
	}
	return n, err
}
