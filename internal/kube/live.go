package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/recv"
	"github.com/loopdev/loop/internal/supervise"
	lsync "github.com/loopdev/loop/internal/sync"
)

// closeGrace bounds how long a closed sync channel's exec may take to end
// by itself before its stream is cut.
const closeGrace = 2 * time.Second

// Live is live update's Driver for one container of a workload's current
// pod, everything through exec of the supervisor the pod's init container
// installed at liveupdate.Supervisor: files go through a long-lived
// `__recv` channel (internal/recv) into the pod Pod names, a new one when
// the pod was replaced; restart signals go through `__signal`; the owner
// of synced files is what `__id` says. An exec runs as the container's
// user: the receiver too, so synced files can only be given to that user.
type Live struct {
	client    *Client
	namespace string
	container string
	pod       func(ctx context.Context) (string, error)

	mu      sync.Mutex
	ch      *recv.Channel // guarded by mu: the channel into chPod
	helpers atomic.Int64  // supervisor subcommands exec'd (tests)
	chPod   string        // guarded by mu
	owner   [2]int        // guarded by mu: uid, gid in ownerOf
	ownerOf string        // guarded by mu: the pod owner was read from
	closed  bool          // guarded by mu
}

var _ liveupdate.Driver = (*Live)(nil)

// NewLive is the live-update driver of container in namespace ("": the
// client's) of the pod pod returns, asked before each operation (a pod
// that was replaced gets a new sync channel).
func (c *Client) NewLive(namespace, container string, pod func(ctx context.Context) (string, error)) *Live {
	return &Live{client: c, namespace: c.ns(namespace), container: container, pod: pod}
}

// Close stops the sync channel; the Live must not be used after.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.ch != nil {
		l.ch.Stop()
		l.ch = nil
	}
}

// Target syncs through the channel. A pod's container that is not
// running cannot be written to, whatever live says: its files come with
// the next initial sync.
func (l *Live) Target(bool) lsync.Target { return liveTarget{l} }

// Exec runs argv in the container, in dir ("": its working directory)
// through the supervisor's `__chdir`. user is not used: an exec runs as
// the container's user, which the runtime set from the same spec.
func (l *Live) Exec(ctx context.Context, argv []string, user, dir string, stdout, stderr io.Writer) (int, error) {
	if dir != "" {
		argv = append([]string{liveupdate.Supervisor, supervise.CmdChdir, dir, "--"}, argv...)
	}
	pod, err := l.pod(ctx)
	if err != nil {
		return -1, err
	}
	return l.client.Exec(ctx, ExecOptions{Namespace: l.namespace, Pod: pod, Container: l.container, Argv: argv, Stdout: stdout, Stderr: stderr})
}

// Signal sends sig to the container's PID 1, the supervisor: through the
// sync channel (a frame on an open stream), else with an exec of
// `__signal` (hundreds of milliseconds: a new process in the container).
func (l *Live) Signal(ctx context.Context, sig syscall.Signal) error {
	err := liveTarget{l}.do(ctx, func(c *recv.Conn) error { return c.Signal(ctx, sig) })
	if err == nil || !recv.Retryable(ctx, err) {
		return err
	}
	_, err = l.helper(ctx, supervise.CmdSignal, strconv.Itoa(int(sig)))
	return err
}

// Owner is the uid and gid the container's processes run as, read once
// per pod.
func (l *Live) Owner(ctx context.Context) (int, int, error) {
	pod, err := l.pod(ctx)
	if err != nil {
		return 0, 0, err
	}
	l.mu.Lock()
	if l.ownerOf == pod {
		o := l.owner
		l.mu.Unlock()
		return o[0], o[1], nil
	}
	l.mu.Unlock()
	out, err := l.helper(ctx, supervise.CmdID)
	if err != nil {
		return 0, 0, err
	}
	var uid, gid int
	if _, err := fmt.Sscanf(out, "%d %d", &uid, &gid); err != nil {
		return 0, 0, fmt.Errorf("loopd __id in pod %s/%s: unexpected output %q", l.namespace, pod, out)
	}
	l.mu.Lock()
	l.owner, l.ownerOf = [2]int{uid, gid}, pod
	l.mu.Unlock()
	return uid, gid, nil
}

// helper runs a supervisor subcommand in the current pod and returns its
// output; a non-zero exit is an error with its stderr.
func (l *Live) helper(ctx context.Context, args ...string) (string, error) {
	pod, err := l.pod(ctx)
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	argv := append([]string{liveupdate.Supervisor}, args...)
	l.helpers.Add(1)
	code, err := l.client.Exec(ctx, ExecOptions{Namespace: l.namespace, Pod: pod, Container: l.container, Argv: argv, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return "", err
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if code == 126 || code == 127 || strings.Contains(msg, "no such file") {
			msg += " (is the supervisor installed at " + liveupdate.Supervisor + " by the pod's init container?)"
		}
		return "", fmt.Errorf("%s in pod %s/%s: exited %d: %s", strings.Join(argv, " "), l.namespace, pod, code, msg)
	}
	return stdout.String(), nil
}

// channel is the sync channel into the current pod, a new one when the
// pod changed.
func (l *Live) channel(ctx context.Context) (*recv.Channel, error) {
	pod, err := l.pod(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, recv.ErrOff
	}
	if l.ch != nil && l.chPod == pod {
		return l.ch, nil
	}
	if l.ch != nil {
		l.ch.Stop()
	}
	l.ch, l.chPod = &recv.Channel{Start: func(context.Context) (*recv.Conn, error) { return l.startRecv(pod), nil }}, pod
	return l.ch, nil
}

// startRecv starts `loopd __recv` in pod: an exec that lives until the
// channel is closed. An exec that fails to start ends the receiver's
// output at once, with the error as its stderr.
func (l *Live) startRecv(pod string) *recv.Conn {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	read := func(stdout, stderr io.Writer) {
		code, err := l.client.Exec(ctx, ExecOptions{
			Namespace: l.namespace, Pod: pod, Container: l.container,
			Argv: []string{liveupdate.Supervisor, supervise.CmdRecv}, Stdin: pr, Stdout: stdout, Stderr: stderr,
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprint(stderr, err)
		} else if code != 0 {
			fmt.Fprintf(stderr, " (exit code %d)", code)
		}
		pw.Close() // writes fail from now on; the stdin copy ends quietly
		cancel()
	}
	// Closing stdin ends the receiver and so the exec, cleanly; the
	// stream is cut only when that takes longer than closeGrace.
	return recv.Open(pw, read, func() {
		pw.Close()
		time.AfterFunc(closeGrace, cancel)
	})
}

// liveTarget syncs into the current pod through its channel, once more
// on a new channel when the first one broke (the pod was replaced, the
// receiver or its stream died).
type liveTarget struct{ l *Live }

var _ lsync.Target = liveTarget{}

func (t liveTarget) Copy(ctx context.Context, r io.Reader) error {
	rp := recv.NewReplay(r, recv.ReplayMax)
	err := t.do(ctx, func(c *recv.Conn) error { return c.CopyTar(ctx, rp) })
	if err == nil || !recv.Retryable(ctx, err) {
		return err
	}
	again, ok := rp.Again()
	if !ok {
		return fmt.Errorf("sync channel broke after %d MiB of the stream: %w", recv.ReplayMax>>20, err)
	}
	return t.do(ctx, func(c *recv.Conn) error { return c.CopyTar(ctx, again) })
}

func (t liveTarget) Delete(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	op := func(c *recv.Conn) error { return c.Remove(ctx, paths) }
	err := t.do(ctx, op)
	if err == nil || !recv.Retryable(ctx, err) {
		return err
	}
	return t.do(ctx, op)
}

func (t liveTarget) do(ctx context.Context, op func(*recv.Conn) error) error {
	ch, err := t.l.channel(ctx)
	if err != nil {
		return fmt.Errorf("sync into pod: %w", err)
	}
	if err := ch.Do(ctx, op); err != nil {
		return fmt.Errorf("sync into pod %s/%s: %w", t.l.namespace, t.l.chPodName(), err)
	}
	return nil
}

func (l *Live) chPodName() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.chPod
}
