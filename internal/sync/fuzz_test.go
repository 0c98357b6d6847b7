package sync

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// FuzzPlan: whatever paths a batch reports (absolute or not, with ".."
// parts, through symlinks, outside the project), NewPlan and Apply keep
// every container path inside its rule's Remote, every tar name inside the
// Remotes, and read nothing outside the project (a symlink to a directory
// beside it holds the only "SECRET").
//
// The seed corpus (testdata/fuzz/FuzzPlan) holds batches of paths like
// those of plan_test.go, one per line.
func FuzzPlan(f *testing.F) {
	f.Fuzz(func(t *testing.T, batch string) {
		root, elsewhere := tempRoot(t), tempRoot(t)
		write(t, elsewhere, map[string]string{"f": "SECRET", "d/g": "SECRET"})
		write(t, root, map[string]string{
			"src/main.go": "package main", "src/lib/a.go": "package lib", "src/empty/": "",
			"src/link": "->lib", "src/out": "->" + elsewhere, "src/bad": "->/etc/passwd",
			"lnk": "->" + elsewhere, "config.yml": "k: v",
		})
		rules := []model.SyncRule{
			{Local: filepath.Join(root, "src"), Remote: "/app"},
			{Local: filepath.Join(root, "src", "lib"), Remote: "/opt/lib/"},
			{Local: filepath.Join(root, "lnk", "d"), Remote: "/app/d"},
			{Local: filepath.Join(root, "config.yml"), Remote: "/etc/app.yml"},
		}
		var changed []string
		for _, l := range strings.Split(batch, "\n") {
			if !filepath.IsAbs(l) {
				l = filepath.Join(root, l)
			}
			changed = append(changed, l)
		}
		plan := NewPlan(rules, changed)
		remotes := []string{"/app", "/opt/lib", "/etc/app.yml"}
		inside := func(p string) bool {
			return slices.ContainsFunc(remotes, func(r string) bool { return p == r || strings.HasPrefix(p, r+"/") }) &&
				!slices.Contains(strings.Split(p, "/"), "..")
		}
		for _, c := range plan.Copies {
			if !inside(c.Remote) {
				t.Errorf("copy %s -> %s: outside the Remotes", c.Local, c.Remote)
			}
		}
		for _, d := range plan.Deletes {
			if !inside(d) {
				t.Errorf("delete %s: outside the Remotes", d)
			}
		}
		var rec recorder
		if _, err := Apply(t.Context(), &rec, plan, Options{Root: root, UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
		for name, e := range rec.entries {
			if !inside("/"+strings.TrimSuffix(name, "/")) || strings.Contains(e.content, "SECRET") {
				t.Errorf("tar entry %q (%q): outside the Remotes or from outside the project", name, e.content)
			}
		}
	})
}
