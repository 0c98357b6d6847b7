package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/kube/kubetest"
)

// deadline is how long a test waits for the cluster: generous, the
// machine is often loaded.
const deadline = 3 * time.Minute

// cluster is the test cluster, a namespace of the test's own and the
// busybox image imported.
func cluster(t *testing.T) (*kube.Client, string) {
	t.Helper()
	c := kubetest.Cluster(t)
	ns := kubetest.Namespace(t, c, "kube-ops")
	kubetest.Import(t, kubetest.BusyboxImage)
	return c, ns
}

// busybox is a container of the busybox image running sh -c script.
func busybox(name, script string) corev1.Container {
	return corev1.Container{
		Name: name, Image: kubetest.BusyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"/bin/sh", "-c", script},
	}
}

func podSpec(cs ...corev1.Container) corev1.PodSpec {
	zero := int64(0)
	return corev1.PodSpec{Containers: cs, TerminationGracePeriodSeconds: &zero}
}

func createPod(t *testing.T, c *kube.Client, ns, name string, spec corev1.PodSpec) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}, Spec: spec}
	if _, err := c.Set.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

func createDeployment(t *testing.T, c *kube.Client, ns, name string, spec corev1.PodSpec) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	if _, err := c.Set.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
}

// waitPods polls the pods matching selector until cond holds, and
// returns them.
func waitPods(t *testing.T, c *kube.Client, ns, selector, what string, cond func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	waitFor(t, what, func() bool {
		list, err := c.Set.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false
		}
		pods = list.Items
		return cond(pods)
	}, func() string { return describe(pods) })
	return pods
}

// running is the one running, ready pod not being deleted, other than
// the ones in not.
func running(pods []corev1.Pod, not ...string) *corev1.Pod {
outer:
	for i := range pods {
		p := &pods[i]
		for _, n := range not {
			if p.Name == n {
				continue outer
			}
		}
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, cd := range p.Status.Conditions {
			if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
				return p
			}
		}
	}
	return nil
}

func describe(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		b.WriteString(p.Name + " " + string(p.Status.Phase))
		for _, cs := range p.Status.ContainerStatuses {
			b.WriteString(" " + cs.Name + ":")
			switch {
			case cs.State.Running != nil:
				b.WriteString("running")
			case cs.State.Waiting != nil:
				b.WriteString("waiting " + cs.State.Waiting.Reason + " " + cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				b.WriteString("terminated " + cs.State.Terminated.Reason)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// waitFor polls cond until it holds, failing t after deadline with what
// and the state state describes.
func waitFor(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			s := ""
			if state != nil {
				s = state()
			}
			t.Fatalf("timed out after %s waiting for %s\n%s", deadline, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
