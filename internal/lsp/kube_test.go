package lsp_test

import (
	"path/filepath"
	"slices"
	"testing"
)

// The Kubernetes builtins reach completion through their declarations,
// like every other builtin.
func TestLSP_completionKube(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	c.open(lf, "\nk8s_resource(\"api\", p\n")

	got := labels(t, c, lf, 0, 0)
	for _, want := range []string{"kubernetes", "k8s_yaml", "kustomize", "helm", "k8s_kind", "k8s_resource"} {
		if !slices.Contains(got, want) {
			t.Errorf("start of line: %q missing from %v", want, got)
		}
	}
	got = labels(t, c, lf, 1, 21) // k8s_resource("api", p|
	for _, want := range []string{"port_forwards=", "sync=", "on_change=", "objects="} {
		if !slices.Contains(got, want) {
			t.Errorf("in k8s_resource(: %q missing from %v", want, got)
		}
	}
	if slices.Contains(got, "workload=") {
		t.Errorf("in k8s_resource(: workload= is given by position, got %v", got)
	}
}
