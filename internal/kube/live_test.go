package kube_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/loopdev/loop/internal/kube/kubetest"
	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/supervise"
)

// supervised is the service, under the supervisor an init container
// installed: it says when it starts, and exits 0 on SIGTERM.
const supervised = `echo started; trap "exit 0" TERM; sleep 1000 & wait`

// TestLive: the driver syncs files (deletes included) into the current
// pod of a Deployment through __recv, runs steps in a directory, reads
// the owner, restarts in place with a signal, and follows the pod when
// it is replaced.
func TestLive(t *testing.T) {
	c, ns := cluster(t)
	super := kubetest.SupervisorImage(t)
	spec := podSpec(busybox("app", ""))
	spec.Containers[0].Command = []string{liveupdate.Supervisor, supervise.CmdSupervise, "--stop-timeout=2s", "--", "/bin/sh", "-c", supervised}
	spec.InitContainers = []corev1.Container{{
		Name: "loop-supervisor", Image: super, ImagePullPolicy: corev1.PullNever,
		Command:      []string{"/loopd", supervise.CmdInstall, liveupdate.Supervisor},
		VolumeMounts: []corev1.VolumeMount{{Name: "loop", MountPath: "/.loop"}},
	}}
	spec.Volumes = []corev1.Volume{{Name: "loop", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	spec.Containers[0].VolumeMounts = spec.InitContainers[0].VolumeMounts
	createDeployment(t, c, ns, "live", spec)
	first := running(waitPods(t, c, ns, "app=live", "a running pod", func(p []corev1.Pod) bool { return running(p) != nil })).Name

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	current := func(ctx context.Context) (string, error) {
		list, err := c.Set.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=live"})
		if err != nil {
			return "", err
		}
		if p := running(list.Items); p != nil {
			return p.Name, nil
		}
		return "", errors.New("no running pod")
	}
	live := c.NewLive(ns, "app", current)
	defer live.Close()

	uid, gid, err := live.Owner(ctx)
	if err != nil || uid != 0 || gid != 0 {
		t.Errorf("Owner = %d, %d, %v; want 0, 0 (root)", uid, gid, err)
	}
	sync := func(files map[string]string) {
		t.Helper()
		if err := live.Target(true).Copy(ctx, bytes.NewReader(tarOf(t, files))); err != nil {
			t.Fatalf("Copy: %v", err)
		}
	}
	sync(map[string]string{"app/a.txt": "one\n", "app/sub/b.txt": "two\n"})
	if got := exec(t, c, ns, first, "cat /app/a.txt /app/sub/b.txt"); got != "one\ntwo\n" {
		t.Errorf("synced files = %q, want one two", got)
	}
	sync(map[string]string{"app/a.txt": "three\n"})
	if err := live.Target(true).Delete(ctx, []string{"/app/sub"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := exec(t, c, ns, first, "cat /app/a.txt; if test -e /app/sub; then echo sub still there; fi"); got != "three\n" {
		t.Errorf("after sync and delete: %q, want three", got)
	}

	var out output.Buffer
	code, err := live.Exec(ctx, []string{"sh", "-c", "pwd; ls"}, "", "/app", &out, &out)
	if err != nil || code != 0 || out.String() != "/app\na.txt\n" {
		t.Errorf("Exec in /app = %d, %v, %q; want 0, nil, /app a.txt", code, err, out.String())
	}

	execs := live.HelperExecs()
	if err := live.Signal(ctx, supervise.SigRestart); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if n := live.HelperExecs() - execs; n != 0 {
		t.Errorf("Signal ran %d execs; want the signal sent on the open sync channel", n)
	}
	logs := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		lines, err := c.Tail(ctx, ns, first, "app", false, 0)
		return "\n" + strings.Join(lines, "\n\n") + "\n", err // every line between newlines of its own
	}
	waitFor(t, "the restart in place", func() bool {
		s, _ := logs()
		return strings.Count(s, "\nstarted\n") == 2 && strings.Contains(s, "\nloop supervise: restarted")
	}, func() string {
		s, err := logs()
		return s + errString(err)
	})

	// The pod is replaced: the next sync goes into the new one.
	if err := c.Set.CoreV1().Pods(ns).Delete(ctx, first, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	second := running(waitPods(t, c, ns, "app=live", "a new running pod", func(p []corev1.Pod) bool {
		return running(p, first) != nil
	})).Name
	sync(map[string]string{"app/c.txt": "four\n"})
	if got := exec(t, c, ns, second, "cat /app/c.txt"); got != "four\n" {
		t.Errorf("synced into the new pod: %q, want four", got)
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Now()}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
