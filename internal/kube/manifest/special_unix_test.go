//go:build unix

package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A named pipe in a kustomization or a chart is refused, not read: it
// could block evaluation forever.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	k, c := filepath.Join(dir, "k"), filepath.Join(dir, "c", "templates")
	for _, d := range []string{k, c} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(k, "kustomization.yaml"), []byte("resources: [pipe.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c", "Chart.yaml"), []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n"), 0o644)
	for _, p := range []string{filepath.Join(k, "pipe.yaml"), filepath.Join(c, "pipe.yaml")} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("no FIFOs here: %v", err)
		}
	}
	if _, _, err := Kustomize(k); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Kustomize: got %v, want a not-a-regular-file error", err)
	}
	if _, _, err := Helm(filepath.Join(dir, "c"), HelmOptions{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Helm: got %v, want a not-a-regular-file error", err)
	}
}
