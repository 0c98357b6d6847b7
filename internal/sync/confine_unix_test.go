//go:build unix

package sync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// A directory replaced by a symlink to elsewhere between planning and
// Apply, or between the check and the read, is never read through.
func TestApply_directorySwappedForSymlink(t *testing.T) {
	root, elsewhere := tempRoot(t), tempRoot(t)
	write(t, root, map[string]string{"src/d/f.txt": "inside"})
	write(t, elsewhere, map[string]string{"f.txt": "SECRET"})
	src := filepath.Join(root, "src")
	rules := []model.SyncRule{{Local: src, Remote: "/app"}}
	f := filepath.Join(src, "d", "f.txt")
	swap := func() {
		t.Helper()
		if err := os.Rename(filepath.Join(src, "d"), filepath.Join(src, "d.old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(src, "d")); err != nil {
			t.Fatal(err)
		}
	}

	// Between NewPlan and Apply.
	plan := NewPlan(rules, []string{f})
	swap()
	var rec recorder
	st, err := Apply(t.Context(), &rec, plan, Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec)
	if len(st.Refused) != 1 || !strings.Contains(st.Refused[0], "outside the project") {
		t.Errorf("refused %q, want %s", st.Refused, f)
	}

	// Between the check and the read: the file is read from the directory
	// that was checked, or not at all.
	if err := os.Remove(filepath.Join(src, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "d.old"), filepath.Join(src, "d")); err != nil {
		t.Fatal(err)
	}
	c, err := newConfined(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	e, ok, err := check(File{Local: f, Remote: "/app/d/f.txt"}, c)
	if err != nil || !ok {
		t.Fatalf("check: %v, %v", ok, err)
	}
	swap()
	rec = recorder{}
	st = Stats{}
	if _, err := stream(t.Context(), &rec, []entry{*e}, Options{Root: root}, c, &st); err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec)
}
