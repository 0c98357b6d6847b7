package sandbox

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
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
	var src strings.Builder
	for _, engine := range []string{"postgres", "mysql", "redis"} {
		for _, rt := range []string{"process", "container"} {
			src.WriteString("database(\"" + engine + "-" + rt + "\", engine=\"" + engine + "\", runtime=\"" + rt + "\", seed=\"seed.sql\")\n")
		}
	}
	src.WriteString(`task("check", "true", resource_deps=["postgres-process", "redis-container"])` + "\n")
	for name, body := range map[string]string{"Loopfile": src.String(), "seed.sql": "select 1;"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	before := listTree(t, root)

	p, err := Load(context.Background(), filepath.Join(dir, "Loopfile"),
		loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}, StateDir: state}, Limits{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(p.Databases) != 6 {
		t.Errorf("databases: got %d, want 6", len(p.Databases))
	}
	if after := listTree(t, root); !slices.Equal(after, before) {
		t.Errorf("evaluation changed the file system:\nbefore %q\nafter  %q", before, after)
	}
}

// listTree lists every path under root with its mode and modification time.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, strings.TrimPrefix(p, root)+" "+fi.Mode().String()+" "+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
