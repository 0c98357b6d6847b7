package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/loopdev/loop/internal/output"
)

// ErrNotRunning says a pod or container is not there or not running, so
// nothing can be run in it or streamed from it.
var ErrNotRunning = errors.New("not running")

// ExecOptions is one command to run in a container of a pod.
type ExecOptions struct {
	Namespace string // "": the client's
	Pod       string
	Container string // "": the pod's only container
	Argv      []string
	Stdin     io.Reader // nil: no stdin; else copied to the command and closed at its end
	Stdout    io.Writer // nil discards
	Stderr    io.Writer // nil discards; unused with TTY (the terminal has one stream)
	TTY       bool
	// Sizes, when not nil, resizes the terminal: width and height.
	Sizes <-chan [2]uint16
}

// Exec runs opts.Argv in a container through the API server (websocket,
// else SPDY for an older server or a proxy that cannot upgrade to
// websockets) and returns its exit code. ctx ending stops the stream.
// Writes to Stdout and Stderr never overlap, so they may be one writer.
// A pod or container that is not there or not running is an error that
// wraps ErrNotRunning and says its state.
func (c *Client) Exec(ctx context.Context, opts ExecOptions) (int, error) {
	if len(opts.Argv) == 0 {
		return -1, errors.New("exec: empty command")
	}
	ns := c.ns(opts.Namespace)
	req := c.Set.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(opts.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: opts.Container, Command: opts.Argv, TTY: opts.TTY,
			Stdin: opts.Stdin != nil, Stdout: true, Stderr: !opts.TTY,
		}, scheme.ParameterCodec)
	ex, err := c.executor(req.URL())
	if err != nil {
		return -1, fmt.Errorf("exec in pod %s/%s: %w", ns, opts.Pod, err)
	}
	// Output arrives on two goroutines; callers often pass one writer
	// (or writers sharing a tail) for both, as with docker's one stream.
	var mu sync.Mutex
	so := remotecommand.StreamOptions{Stdin: opts.Stdin, Stdout: &lockedWriter{mu: &mu, w: output.OrDiscard(opts.Stdout)}, Tty: opts.TTY}
	if !opts.TTY {
		so.Stderr = &lockedWriter{mu: &mu, w: output.OrDiscard(opts.Stderr)}
	}
	if opts.Sizes != nil {
		so.TerminalSizeQueue = sizeQueue(opts.Sizes)
	}
	err = ex.StreamWithContext(ctx, so)
	var exit utilexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.Exited():
		return exit.ExitStatus(), nil
	case ctx.Err() != nil:
		return -1, ctx.Err()
	}
	if why := c.notRunning(ctx, ns, opts.Pod, opts.Container); why != nil {
		return -1, fmt.Errorf("exec %s: %w", strings.Join(opts.Argv, " "), why)
	}
	return -1, fmt.Errorf("exec %s in pod %s/%s: %w", strings.Join(opts.Argv, " "), ns, opts.Pod, err)
}

// executor streams over websockets, falling back to SPDY when the
// connection cannot be upgraded (as kubectl does).
func (c *Client) executor(u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// notRunning explains, wrapping ErrNotRunning, why container of pod
// cannot be reached, or returns nil when it runs (or the pod cannot be
// read: the caller's error stands).
func (c *Client) notRunning(ctx context.Context, ns, pod, container string) error {
	p, err := c.Set.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("pod %s/%s does not exist (replaced or deleted; list pods with kubectl get pods -n %s): %w", ns, pod, ns, ErrNotRunning)
	}
	if err != nil {
		return nil
	}
	if p.DeletionTimestamp != nil {
		return fmt.Errorf("pod %s/%s is being deleted: %w", ns, pod, ErrNotRunning)
	}
	if container == "" && len(p.Spec.Containers) == 1 {
		container = p.Spec.Containers[0].Name
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		if cs.State.Running != nil {
			return nil
		}
		return fmt.Errorf("container %s of pod %s/%s is %s: %w", container, ns, pod, stateString(cs.State), ErrNotRunning)
	}
	names := make([]string, 0, len(p.Spec.Containers))
	for _, ct := range p.Spec.Containers {
		if ct.Name == container {
			return fmt.Errorf("container %s of pod %s/%s has not started (pod %s): %w", container, ns, pod, p.Status.Phase, ErrNotRunning)
		}
		names = append(names, ct.Name)
	}
	return fmt.Errorf("pod %s/%s has no container %q (it has: %s): %w", ns, pod, container, strings.Join(names, ", "), ErrNotRunning)
}

// stateString says what a container that is not running is doing.
func stateString(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		if s.Waiting.Message != "" {
			return "waiting: " + s.Waiting.Reason + ": " + s.Waiting.Message
		}
		return "waiting: " + s.Waiting.Reason
	case s.Terminated != nil:
		return fmt.Sprintf("terminated (exit code %d, %s)", s.Terminated.ExitCode, s.Terminated.Reason)
	}
	return "not started"
}

func (c *Client) ns(ns string) string {
	if ns == "" {
		return c.Namespace
	}
	return ns
}

// sizeQueue is a terminal's sizes, from a channel.
type sizeQueue <-chan [2]uint16

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &remotecommand.TerminalSize{Width: s[0], Height: s[1]}
}

// lockedWriter serializes writes to w with the other writers of mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
