//go:build darwin

package watch

import (
	"path/filepath"
	"testing"
)

// TestWatcher_FSEventsDarwin: on macOS the Watcher streams with FSEvents,
// under a temp dir reached through /var -> /private/var, and drops events
// in an ignored node_modules.
func TestWatcher_FSEventsDarwin(t *testing.T) {
	if _, err := loadFSEvents(); err != nil {
		t.Skipf("FSEvents unavailable: %v", err)
	}
	if b := SystemBackend(); b.Name != "FSEvents" || len(b.Limits) != 0 {
		t.Errorf("SystemBackend() = %+v, want FSEvents without limits", b)
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".gitignore"), "node_modules/\n")
	writeFile(t, filepath.Join(root, "node_modules", "pkg", "index.js"), "x")
	writeFile(t, filepath.Join(root, "src", "main.go"), "x")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	if got := w.Backend(); got != "FSEvents" {
		t.Fatalf("Backend = %q, want FSEvents", got)
	}
	writeFile(t, filepath.Join(root, "node_modules", "pkg", "new.js"), "x")
	writeFile(t, filepath.Join(root, "src", "main.go"), "y")
	writeFile(t, filepath.Join(root, "src", "new", "f.go"), "x")
	changesUntil(t, w, []Change{
		{filepath.Join(root, "src", "main.go"), Write},
		{filepath.Join(root, "src", "new"), Create},
		{filepath.Join(root, "src", "new", "f.go"), Create},
	})
}
