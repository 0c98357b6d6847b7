package kube

// How a workload is doing, from its pods' statuses and its own: pure
// functions of what the API server reports, so that they are table-tested.

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/loopdev/loop/internal/runtime"
)

// podProblem is why a pod is failing ("" when it is not), and the
// container whose previous logs explain it ("" when none does).
type podProblem struct {
	Reason    string
	Container string // crashed: its last log lines add to the reason
}

// waitingFailures are the waiting reasons of a container that will not
// start without a change (a crash loop, an image the node cannot get, a
// bad configuration).
var waitingFailures = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// podHealth says whether pod is failing and why: a container waiting for
// a reason that will not pass by itself (crash loop, OOMKilled last time,
// image pull), or a pod that cannot be scheduled.
func podHealth(pod *corev1.Pod) podProblem {
	if pod.DeletionTimestamp != nil {
		return podProblem{}
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil || !waitingFailures[w.Reason] {
			continue
		}
		reason := w.Reason
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			reason = "OOMKilled"
		}
		p := podProblem{Reason: fmt.Sprintf("%s: container %s of pod %s", reason, cs.Name, pod.Name)}
		if w.Message != "" {
			p.Reason += ": " + w.Message
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			p.Reason += fmt.Sprintf(" (last exit: code %d", t.ExitCode)
			if t.Reason != "" && t.Reason != reason {
				p.Reason += ", " + t.Reason
			}
			p.Reason += ")"
			p.Container = cs.Name
		}
		return p
	}
	for _, cs := range statuses {
		if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return podProblem{Reason: fmt.Sprintf("OOMKilled: container %s of pod %s ran out of memory (exit code %d)", cs.Name, pod.Name, t.ExitCode), Container: cs.Name}
		}
	}
	if pod.Status.Phase == corev1.PodPending {
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return podProblem{Reason: fmt.Sprintf("Pending: pod %s cannot be scheduled: %s", pod.Name, c.Message)}
			}
		}
	}
	return podProblem{}
}

// podReady reports whether the pod's Ready condition is true.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rollout is how a workload object's own status reads.
type rollout struct {
	Ready  bool
	Done   bool // ran to completion (a Job): Exit is set
	Exit   runtime.Exit
	Reason string // why it is not ready yet
}

// workloadRollout reads the status of the workload object u (nil: not
// there yet). Kinds without a rollout are ready once applied.
func workloadRollout(u *unstructured.Unstructured) rollout {
	if u == nil {
		return rollout{Reason: "not created yet"}
	}
	gen := u.GetGeneration()
	observed := num(u, "status", "observedGeneration")
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet":
		want := int64(1)
		if v, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); found {
			want = v
		}
		updated := num(u, "status", "updatedReplicas")
		if u.GetKind() == "ReplicaSet" {
			updated = num(u, "status", "replicas")
		}
		avail := num(u, "status", "availableReplicas")
		if u.GetKind() == "StatefulSet" {
			avail = num(u, "status", "readyReplicas")
		}
		total := num(u, "status", "replicas")
		switch {
		case observed < gen:
			return rollout{Reason: "waiting for the controller to see the new generation"}
		case updated < want:
			return rollout{Reason: fmt.Sprintf("%d of %d pods updated", updated, want)}
		case total > updated:
			return rollout{Reason: fmt.Sprintf("%d old pods terminating", total-updated)}
		case avail < want:
			return rollout{Reason: fmt.Sprintf("%d of %d pods ready", avail, want)}
		}
		return rollout{Ready: true}
	case "DaemonSet":
		want := num(u, "status", "desiredNumberScheduled")
		updated := num(u, "status", "updatedNumberScheduled")
		avail := num(u, "status", "numberAvailable")
		switch {
		case observed < gen:
			return rollout{Reason: "waiting for the controller to see the new generation"}
		case updated < want:
			return rollout{Reason: fmt.Sprintf("%d of %d pods updated", updated, want)}
		case avail < want:
			return rollout{Reason: fmt.Sprintf("%d of %d pods ready", avail, want)}
		}
		return rollout{Ready: true}
	case "Job":
		for _, c := range conditions(u) {
			if c["status"] != "True" {
				continue
			}
			switch c["type"] {
			case "Complete":
				return rollout{Ready: true, Done: true, Exit: runtime.Exit{}}
			case "Failed":
				return rollout{Done: true, Exit: runtime.Exit{Code: 1}, Reason: fmt.Sprintf("Job failed: %v: %v", c["reason"], c["message"])}
			}
		}
		if num(u, "status", "succeeded") > 0 && num(u, "status", "active") == 0 {
			return rollout{Ready: true, Done: true}
		}
		return rollout{Reason: "running"}
	case "Pod":
		if phase, _, _ := unstructured.NestedString(u.Object, "status", "phase"); phase == "Succeeded" || phase == "Failed" {
			if phase == "Succeeded" {
				return rollout{Ready: true, Done: true}
			}
			return rollout{Done: true, Exit: runtime.Exit{Code: 1}, Reason: "pod failed"}
		}
		for _, c := range conditions(u) {
			if c["type"] == "Ready" && c["status"] == "True" {
				return rollout{Ready: true}
			}
		}
		return rollout{Reason: "pod not ready"}
	}
	return rollout{Ready: true}
}

func num(u *unstructured.Unstructured, path ...string) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

func conditions(u *unstructured.Unstructured) []map[string]any {
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// summarize combines the workload's rollout and its pods' problems
// (sorted by pod name so the same cluster state gives the same Health)
// into one Health. Failing pods win over a rollout in progress and over
// a complete one (a crash loop in a ready Deployment is still failing).
func summarize(r rollout, problems []podProblem) runtime.Health {
	var reasons []string
	for _, p := range problems {
		if p.Reason != "" {
			reasons = append(reasons, p.Reason)
		}
	}
	sort.Strings(reasons)
	switch {
	case len(reasons) > 0:
		return runtime.Health{State: runtime.HealthFailing, Reason: strings.Join(reasons, "\n")}
	case r.Done && !r.Exit.Success():
		return runtime.Health{State: runtime.HealthFailing, Reason: r.Reason}
	case r.Ready:
		return runtime.Health{State: runtime.HealthReady}
	}
	return runtime.Health{State: runtime.HealthStarting, Reason: r.Reason}
}
