package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/loopfile/loopfiletest"
)

// The evaluator child writes nothing: a Loopfile declaring every database
// engine in both runtimes, in a read-only project directory with a fresh
// state directory, leaves both as they were (loopd prepares databases
// afterwards, in its own process: package database).
func TestLoad_databasesWriteNothing(t *testing.T) {
	root := t.TempDir()
	dir, state := filepath.Join(root, "project"), filepath.Join(root, "state")
	for _, d := range []string{dir, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := loopfiletest.ReadOnlyDatabases(t, dir)
	before := loopfiletest.Tree(t, root)

	p, err := Load(context.Background(), path,
		loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}, StateDir: state}, Limits{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(p.Databases) != 6 {
		t.Errorf("databases: got %d, want 6", len(p.Databases))
	}
	if after := loopfiletest.Tree(t, root); !slices.Equal(after, before) {
		t.Errorf("evaluation changed the file system:\nbefore %q\nafter  %q", before, after)
	}
}
