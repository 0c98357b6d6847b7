package kube

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCutTimestamp(t *testing.T) {
	ts, line, ok := cutTimestamp([]byte("2026-12-05T20:50:00.123456789Z hello world\n"))
	if !ok || string(line) != "hello world\n" || ts.Nanosecond() != 123456789 {
		t.Errorf("cutTimestamp = %v, %q, %v; want the time, hello world", ts, line, ok)
	}
	if _, line, ok := cutTimestamp([]byte("no timestamp here\n")); ok || string(line) != "no timestamp here\n" {
		t.Errorf("cutTimestamp(no timestamp) = %q, %v; want the line unchanged, false", line, ok)
	}
}

func TestNewestReady(t *testing.T) {
	now := time.Now()
	pod := func(name string, age time.Duration, phase corev1.PodPhase, ready, deleting bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}, Status: corev1.PodStatus{Phase: phase}}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		if deleting {
			t := metav1.NewTime(now)
			p.DeletionTimestamp = &t
		}
		return p
	}
	for _, tt := range []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"none", nil, ""},
		{"newest ready", []corev1.Pod{pod("old", time.Hour, corev1.PodRunning, true, false), pod("new", time.Minute, corev1.PodRunning, true, false)}, "new"},
		{"not ready yet", []corev1.Pod{pod("old", time.Hour, corev1.PodRunning, true, false), pod("new", time.Minute, corev1.PodRunning, false, false)}, "old"},
		{"terminating", []corev1.Pod{pod("old", time.Hour, corev1.PodRunning, true, true)}, ""},
		{"pending", []corev1.Pod{pod("p", time.Hour, corev1.PodPending, false, false)}, ""},
	} {
		if got := newestReady(tt.pods); got != tt.want {
			t.Errorf("%s: newestReady = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestNotRunning: the reasons an exec cannot reach a container, from the
// pod's status.
func TestNotRunning(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "dev"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "side"}, {Name: "new"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			{Name: "side", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}}},
		}},
	}
	c := &Client{Namespace: "dev", Set: fake.NewClientset(pod)}
	ctx := context.Background()
	for _, tt := range []struct{ pod, container, want string }{
		{"web", "app", ""},
		{"web", "side", "container side of pod dev/web is waiting: CrashLoopBackOff: back-off 10s"},
		{"web", "new", "container new of pod dev/web has not started"},
		{"web", "nope", `pod dev/web has no container "nope" (it has: app, side, new)`},
		{"gone", "app", "pod dev/gone does not exist"},
	} {
		err := c.notRunning(ctx, "dev", tt.pod, tt.container)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("notRunning(%s, %s) = %v, want nil", tt.pod, tt.container, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrNotRunning)):
			t.Errorf("notRunning(%s, %s) = %v, want ErrNotRunning with %q", tt.pod, tt.container, err, tt.want)
		}
	}
}

func TestFollowerStream_Dedup(t *testing.T) {
	var out bytes.Buffer
	f := &follower{w: &out}
	f.last, _ = time.Parse(time.RFC3339Nano, "2026-12-05T20:50:00.5Z")
	body := "2026-12-05T20:50:00.1Z old\n2026-12-05T20:50:00.5Z same\n2026-12-05T20:50:00.6Z new\n" +
		"2026-12-05T20:50:00.7Z " + strings.Repeat("x", 3*maxLogChunk) + "\n2026-12-05T20:50:00.8Z tail"
	n, err := f.copyLines(io.NopCloser(strings.NewReader(body)))
	if err != nil || n != 3 {
		t.Errorf("copyLines = %d, %v; want 3 lines", n, err)
	}
	want := "new\n" + strings.Repeat("x", 3*maxLogChunk) + "\ntail\n"
	if out.String() != want {
		t.Errorf("delivered %d bytes, want %d (old and same skipped, the long line whole)", out.Len(), len(want))
	}
}
