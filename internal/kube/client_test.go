package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestIsLocal(t *testing.T) {
	tests := []struct {
		name, server string
		want         bool
	}{
		{"kind-dev", "https://example.com:6443", true},
		{"k3d-x", "https://10.0.0.1", true},
		{"minikube", "https://192.168.49.2:8443", true},
		{"docker-desktop", "https://kubernetes.docker.internal:6443", true},
		{"loop-test", "https://127.0.0.1:16443", true},
		{"loop-test", "https://[::1]:16443", true},
		{"loop-test", "https://localhost:6443", true},
		{"prod-eu", "https://api.prod.example.com", false},
		{"kind", "https://10.1.1.1", false}, // "kind-" is a prefix, not a name
		{"minikube-prod", "https://10.1.1.1", false},
		{"prod", "://bad", false},
	}
	for _, tt := range tests {
		if got := IsLocal(tt.name, tt.server); got != tt.want {
			t.Errorf("IsLocal(%q, %q) = %v, want %v", tt.name, tt.server, got, tt.want)
		}
	}
}

const kubeconfig = `apiVersion: v1
kind: Config
current-context: prod-eu
clusters:
- name: prod
  cluster: {server: "https://api.prod.example.com"}
- name: local
  cluster: {server: "https://127.0.0.1:16443"}
contexts:
- name: prod-eu
  context: {cluster: prod, user: u}
- name: loop-test
  context: {cluster: local, user: u, namespace: dev}
users:
- name: u
  user: {token: t}
`

func TestConnect_allowList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"KUBECONFIG=" + path}

	_, err := Connect(&model.Cluster{}, env)
	if err == nil || !strings.Contains(err.Error(), `"prod-eu"`) || !strings.Contains(err.Error(), `allow_contexts=["prod-eu"]`) {
		t.Fatalf("current context prod-eu: err = %v, want a refusal that names it and the fix", err)
	}
	_, err = Connect(&model.Cluster{Context: "prod-ue"}, env)
	if err == nil || !strings.Contains(err.Error(), "loop-test, prod-eu") {
		t.Fatalf("typo: err = %v, want the contexts there are", err)
	}
	c, err := Connect(&model.Cluster{Context: "loop-test"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "dev" || c.Server != "https://127.0.0.1:16443" {
		t.Errorf("namespace, server = %q, %q; want dev and the local server", c.Namespace, c.Server)
	}
	c, err = Connect(&model.Cluster{AllowContexts: []string{"prod-eu"}, Namespace: "me"}, env)
	if err != nil {
		t.Fatalf("allowed context: %v", err)
	}
	if c.Context != "prod-eu" || c.Namespace != "me" {
		t.Errorf("context, namespace = %q, %q; want prod-eu, me", c.Context, c.Namespace)
	}
}
