package kube_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/loopdev/loop/internal/kube"
)

func TestClient_Exec(t *testing.T) {
	c, ns := cluster(t)
	createPod(t, c, ns, "sh", podSpec(busybox("main", "sleep 3600")))
	waitPods(t, c, ns, "app=sh", "pod sh running", func(p []corev1.Pod) bool { return running(p) != nil })
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	t.Run("exit code", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "sh", Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != 3 {
			t.Fatalf("Exec = %d, %v; want 3, nil", code, err)
		}
		if stdout.String() != "out\n" || stderr.String() != "err\n" {
			t.Errorf("stdout, stderr = %q, %q; want out, err", stdout.String(), stderr.String())
		}
	})
	t.Run("stdin", func(t *testing.T) {
		var stdout bytes.Buffer
		code, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "sh", Container: "main", Argv: []string{"sh", "-c", "cat; echo done"}, Stdin: strings.NewReader("hello\n"), Stdout: &stdout})
		if err != nil || code != 0 || stdout.String() != "hello\ndone\n" {
			t.Errorf("Exec = %d, %v, %q; want 0, nil, hello done", code, err, stdout.String())
		}
	})
	t.Run("missing pod", func(t *testing.T) {
		_, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "nope", Argv: []string{"true"}})
		if !errors.Is(err, kube.ErrNotRunning) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Exec in a missing pod = %v, want ErrNotRunning saying it does not exist", err)
		}
	})
	t.Run("missing container", func(t *testing.T) {
		_, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "sh", Container: "nope", Argv: []string{"true"}})
		if !errors.Is(err, kube.ErrNotRunning) || !strings.Contains(err.Error(), "it has: main") {
			t.Errorf("Exec in a missing container = %v, want ErrNotRunning naming main", err)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		code, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "sh", Argv: []string{"/no/such/cmd"}})
		if err == nil && code == 0 {
			t.Errorf("Exec of a missing command = 0, nil; want an error or a non-zero code")
		}
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: "sh", Argv: []string{"sleep", "600"}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Exec past its context = %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("Exec returned %s after its context ended", took)
		}
	})
}
