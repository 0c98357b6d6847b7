package loopfile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loopdev/loop/internal/loopfile/loopfiletest"
	"github.com/loopdev/loop/internal/model"
)

// Evaluation is pure: a Loopfile declaring every database engine in both
// runtimes, or a devcontainer() with a local Feature, in a read-only
// project directory and with a fresh temp dir, creates no file anywhere
// (and needs no engine installed): what they need on disk is made by
// loopd (package database) and the runtime's build.
func TestLoad_writesNothing(t *testing.T) {
	tests := []struct {
		name    string
		fixture func(*testing.T, string) string
		check   func(*testing.T, string, *model.Project)
	}{
		{"databases", loopfiletest.ReadOnlyDatabases, func(t *testing.T, _ string, p *model.Project) {
			if len(p.Databases) != 6 {
				t.Errorf("databases: got %d, want 6", len(p.Databases))
			}
		}},
		{"devcontainer features", loopfiletest.ReadOnlyFeatures, loopfiletest.CheckFeatures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, tmp := filepath.Join(root, "project"), filepath.Join(root, "tmp")
			for _, d := range []string{dir, tmp} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("TMPDIR", tmp)
			path := tt.fixture(t, dir)
			before := loopfiletest.Tree(t, root)
			p, err := Load(context.Background(), path, Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, dir, p)
			if after := loopfiletest.Tree(t, root); !slices.Equal(after, before) {
				t.Errorf("evaluation changed the file system:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}
