package kube_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/output"
)

// counter is a container that counts its runs in a volume, prints
// "run N", and exits 1 (a restart) once /data/stopN exists.
const counter = `n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo "run $n"; ` +
	`while [ ! -f /data/stop$n ]; do sleep 0.1; done; echo "end $n"; exit 1`

// TestLogs_RestartAndReplacement: a container's lines arrive once each
// across its restart, and a pod that replaces a deleted one is followed.
func TestLogs_RestartAndReplacement(t *testing.T) {
	c, ns := cluster(t)
	spec := podSpec(busybox("main", counter))
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	createDeployment(t, c, ns, "count", spec)

	var mu sync.Mutex
	bufs := map[string]*output.Buffer{}
	get := func(pod string) string {
		mu.Lock()
		defer mu.Unlock()
		if b := bufs[pod]; b != nil {
			return b.String()
		}
		return ""
	}
	state := func() string {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		for p, buf := range bufs {
			b.WriteString(p + ":\n" + buf.String())
		}
		return b.String()
	}
	logs := &kube.Logs{Client: c, Namespace: ns, Selector: "app=count", Writer: func(pod, container string) io.Writer {
		mu.Lock()
		defer mu.Unlock()
		if container != "main" {
			t.Errorf("Writer(%s, %s): want container main", pod, container)
		}
		if bufs[pod] != nil {
			t.Errorf("Writer(%s, %s) called twice", pod, container)
		}
		bufs[pod] = &output.Buffer{}
		return bufs[pod]
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- logs.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	first := waitPods(t, c, ns, "app=count", "a running pod", func(p []corev1.Pod) bool { return running(p) != nil })
	pod := running(first).Name
	waitFor(t, "run 1 in the logs", func() bool { return get(pod) == "run 1\n" }, state)
	exec(t, c, ns, pod, "touch /data/stop1")
	waitFor(t, "run 2 after the restart", func() bool { return strings.Contains(get(pod), "run 2\n") }, state)
	if got, want := get(pod), "run 1\nend 1\nrun 2\n"; got != want {
		t.Errorf("logs of %s = %q, want %q", pod, got, want)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), deadline)
	defer tcancel()
	prev, err := c.Tail(tctx, ns, pod, "main", true, 1)
	if err != nil || len(prev) != 1 || prev[0] != "end 1" {
		t.Errorf("Tail(previous, 1) = %q, %v; want [end 1]", prev, err)
	}
	cur, err := c.Tail(tctx, ns, pod, "main", false, 0)
	if err != nil || strings.Join(cur, "|") != "run 2" {
		t.Errorf("Tail(current) = %q, %v; want [run 2]", cur, err)
	}

	// The pod is replaced: the new one is followed from its start.
	if err := c.Set.CoreV1().Pods(ns).Delete(tctx, pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next := waitPods(t, c, ns, "app=count", "a new running pod", func(p []corev1.Pod) bool { return running(p, pod) != nil })
	pod2 := running(next, pod).Name
	waitFor(t, "run 1 in the new pod's logs", func() bool { return get(pod2) == "run 1\n" }, state)
	if got, want := get(pod), "run 1\nend 1\nrun 2\n"; got != want {
		t.Errorf("logs of the old pod %s = %q, want %q", pod, got, want)
	}
}

func exec(t *testing.T, c *kube.Client, ns, pod, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var out output.Buffer
	code, err := c.Exec(ctx, kube.ExecOptions{Namespace: ns, Pod: pod, Argv: []string{"sh", "-c", script}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec %q in %s: %d, %v\n%s", script, pod, code, err, out.String())
	}
	return out.String()
}
