package watch

import (
	"strings"
	"testing"
)

// TestSystemBackend_linux: inotify's two sysctls, read through readSysctl,
// low ones flagged with the sysctl that raises them.
func TestSystemBackend_linux(t *testing.T) {
	old := readSysctl
	t.Cleanup(func() { readSysctl = old })
	readSysctl = func(name string) (int, error) {
		if name == sysctlWatches {
			return 8192, nil
		}
		return 1024, nil
	}
	b := SystemBackend()
	if b.Name != "inotify" || len(b.Limits) != 2 {
		t.Fatalf("SystemBackend() = %+v", b)
	}
	w, i := b.Limits[0], b.Limits[1]
	if w.Name != sysctlWatches || w.Value != 8192 || !w.Low() || !strings.Contains(w.Fix, "sudo sysctl fs.inotify.max_user_watches=524288") {
		t.Errorf("watches limit = %+v", w)
	}
	if i.Name != sysctlInstances || i.Low() {
		t.Errorf("instances limit = %+v", i)
	}
}
