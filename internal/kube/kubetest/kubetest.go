// Package kubetest gives tests a real Kubernetes cluster: the one
// scripts/setup-k8s.sh starts (its kubeconfig in $LOOP_TEST_KUBECONFIG,
// default /var/lib/loop-k8s/kubeconfig), and a namespace of their own
// that is deleted when the test ends. Without a reachable cluster the
// test is skipped, or fails when LOOP_REQUIRE_K8S=1 (CI).
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
)

// DefaultKubeconfig is where scripts/setup-k8s.sh writes the test
// cluster's kubeconfig.
const DefaultKubeconfig = "/var/lib/loop-k8s/kubeconfig"

// Kubeconfig is the test cluster's kubeconfig path.
func Kubeconfig() string {
	if p := os.Getenv("LOOP_TEST_KUBECONFIG"); p != "" {
		return p
	}
	return DefaultKubeconfig
}

// Cluster connects to the test cluster, or skips t (fails it when
// LOOP_REQUIRE_K8S=1) when there is none.
func Cluster(t testing.TB) *kube.Client {
	t.Helper()
	path := Kubeconfig()
	unavailable := func(why string, args ...any) {
		t.Helper()
		if os.Getenv("LOOP_REQUIRE_K8S") == "1" {
			t.Fatalf("kubernetes test cluster required (LOOP_REQUIRE_K8S=1): "+why, args...)
		}
		t.Skipf("no kubernetes test cluster (scripts/setup-k8s.sh starts one): "+why, args...)
	}
	if _, err := os.Stat(path); err != nil {
		unavailable("%v", err)
	}
	c, err := kube.Connect(&model.Cluster{}, []string{"KUBECONFIG=" + path})
	if err != nil {
		unavailable("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Set.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		unavailable("%s: %v", c.Server, err)
	}
	return c
}

// Namespace creates a namespace for t alone (its name starts with
// prefix) and deletes it, waiting until it is gone, when t ends.
func Namespace(t testing.TB, c *kube.Client, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := strings.ToLower(prefix) + "-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Set.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := c.Set.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
			return
		}
		for ctx.Err() == nil {
			if _, err := c.Set.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		t.Errorf("namespace %s still there after 3 minutes", name)
	})
	return name
}
