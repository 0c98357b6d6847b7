package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/loopdev/loop/internal/runtime"
)

func waiting(name, reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func TestPodHealth(t *testing.T) {
	crashed := waiting("app", "CrashLoopBackOff", "back-off 10s restarting failed container=app")
	crashed.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}
	oom := waiting("app", "CrashLoopBackOff", "back-off 20s")
	oom.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}
	tests := []struct {
		name          string
		status        corev1.PodStatus
		want          string // a substring of the reason; "" = not failing
		wantContainer string
	}{
		{"running", corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}, "", ""},
		{"creating", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("app", "ContainerCreating", "")}}, "", ""},
		{"crash loop", corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{crashed}}, "CrashLoopBackOff: container app of pod p: back-off 10s restarting failed container=app (last exit: code 2, Error)", "app"},
		{"oom", corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{oom}}, "OOMKilled: container app of pod p: back-off 20s (last exit: code 137)", "app"},
		{"oom terminated", corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}}, "OOMKilled: container app of pod p ran out of memory", "app"},
		{"image pull backoff", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("app", "ImagePullBackOff", `Back-off pulling image "web:loop-1"`)}}, `ImagePullBackOff: container app of pod p: Back-off pulling image "web:loop-1"`, ""},
		{"err image pull", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("app", "ErrImagePull", "not found")}}, "ErrImagePull: container app of pod p: not found", ""},
		{"config error", corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("app", "CreateContainerConfigError", `configmap "x" not found`)}}, `CreateContainerConfigError: container app of pod p: configmap "x" not found`, ""},
		{"init crash", corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{crashed}}, "CrashLoopBackOff: container app", "app"},
		{"unschedulable", corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."}}}, "Pending: pod p cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.", ""},
		{"pending, scheduling", corev1.PodStatus{Phase: corev1.PodPending}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := podHealth(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tt.status})
			if tt.want == "" && got.Reason != "" || !strings.Contains(got.Reason, tt.want) {
				t.Errorf("podHealth() reason = %q, want %q", got.Reason, tt.want)
			}
			if got.Container != tt.wantContainer {
				t.Errorf("podHealth() container = %q, want %q", got.Container, tt.wantContainer)
			}
		})
	}
}

func TestPodHealth_Terminating(t *testing.T) {
	now := metav1.Now()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", DeletionTimestamp: &now},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("app", "CrashLoopBackOff", "")}}}
	if got := podHealth(pod); got.Reason != "" {
		t.Errorf("podHealth(terminating pod) = %q, want not failing", got.Reason)
	}
}

func obj(kind string, generation int64, spec, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "spec": spec, "status": status}}
	u.SetGeneration(generation)
	return u
}

func TestWorkloadRollout(t *testing.T) {
	tests := []struct {
		name      string
		u         *unstructured.Unstructured
		ready     bool
		done      bool
		exitCode  int
		reasonHas string
	}{
		{"not created", nil, false, false, 0, "not created"},
		{"deployment new generation", obj("Deployment", 2, map[string]any{"replicas": int64(1)}, map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}), false, false, 0, "new generation"},
		{"deployment rolling", obj("Deployment", 2, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(2), "replicas": int64(3), "updatedReplicas": int64(1), "availableReplicas": int64(2)}), false, false, 0, "1 of 2 pods updated"},
		{"deployment old terminating", obj("Deployment", 2, map[string]any{"replicas": int64(1)}, map[string]any{"observedGeneration": int64(2), "replicas": int64(2), "updatedReplicas": int64(1), "availableReplicas": int64(1)}), false, false, 0, "1 old pods"},
		{"deployment unavailable", obj("Deployment", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1)}), false, false, 0, "0 of 1 pods ready"},
		{"deployment ready", obj("Deployment", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}), true, false, 0, ""},
		{"deployment scaled to 0", obj("Deployment", 1, map[string]any{"replicas": int64(0)}, map[string]any{"observedGeneration": int64(1)}), true, false, 0, ""},
		{"statefulset ready", obj("StatefulSet", 3, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(3), "replicas": int64(2), "updatedReplicas": int64(2), "readyReplicas": int64(2)}), true, false, 0, ""},
		{"daemonset rolling", obj("DaemonSet", 1, nil, map[string]any{"observedGeneration": int64(1), "desiredNumberScheduled": int64(1), "updatedNumberScheduled": int64(1)}), false, false, 0, "0 of 1 pods ready"},
		{"daemonset ready", obj("DaemonSet", 1, nil, map[string]any{"observedGeneration": int64(1), "desiredNumberScheduled": int64(1), "updatedNumberScheduled": int64(1), "numberAvailable": int64(1)}), true, false, 0, ""},
		{"job running", obj("Job", 1, nil, map[string]any{"active": int64(1)}), false, false, 0, "running"},
		{"job complete", obj("Job", 1, nil, map[string]any{"succeeded": int64(1), "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}), true, true, 0, ""},
		{"job failed", obj("Job", 1, nil, map[string]any{"failed": int64(6), "conditions": []any{map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}}), false, true, 1, "BackoffLimitExceeded"},
		{"pod ready", obj("Pod", 0, nil, map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}), true, false, 0, ""},
		{"pod not ready", obj("Pod", 0, nil, map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "False"}}}), false, false, 0, "not ready"},
		{"pod failed", obj("Pod", 0, nil, map[string]any{"phase": "Failed"}), false, true, 1, "failed"},
		{"configmap", obj("ConfigMap", 0, nil, nil), true, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := workloadRollout(tt.u)
			if got.Ready != tt.ready || got.Done != tt.done || got.Exit.Code != tt.exitCode || !strings.Contains(got.Reason, tt.reasonHas) {
				t.Errorf("workloadRollout() = %+v, want ready %v done %v exit %d reason with %q", got, tt.ready, tt.done, tt.exitCode, tt.reasonHas)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name     string
		r        rollout
		problems []podProblem
		want     runtime.Health
	}{
		{"ready", rollout{Ready: true}, []podProblem{{}}, runtime.Health{State: runtime.HealthReady}},
		{"starting", rollout{Reason: "0 of 1 pods ready"}, nil, runtime.Health{State: runtime.HealthStarting, Reason: "0 of 1 pods ready"}},
		{"failing pods win, sorted", rollout{Ready: true}, []podProblem{{Reason: "b"}, {}, {Reason: "a"}}, runtime.Health{State: runtime.HealthFailing, Reason: "a\nb"}},
		{"failed job", rollout{Done: true, Exit: runtime.Exit{Code: 1}, Reason: "Job failed"}, nil, runtime.Health{State: runtime.HealthFailing, Reason: "Job failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.r, tt.problems); got != tt.want {
				t.Errorf("summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLatestWarning(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u1"}}
	at := func(sec int64) metav1.Time { return metav1.Unix(sec, 0) }
	events := []any{
		&corev1.Event{InvolvedObject: corev1.ObjectReference{UID: "u1"}, Reason: "FailedMount", Message: "old", LastTimestamp: at(1)},
		&corev1.Event{InvolvedObject: corev1.ObjectReference{UID: "u1"}, Reason: "FailedMount", Message: "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found\n", LastTimestamp: at(5)},
		&corev1.Event{InvolvedObject: corev1.ObjectReference{UID: "other"}, Reason: "BackOff", Message: "another pod's", LastTimestamp: at(9)},
	}
	want := `FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`
	if got := latestWarning([]*corev1.Pod{pod}, events); got != want {
		t.Errorf("latestWarning() = %q, want %q", got, want)
	}
	if got := latestWarning(nil, events); got != "" {
		t.Errorf("latestWarning(no pods) = %q, want none", got)
	}
}
