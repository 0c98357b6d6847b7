// Package loopfiletest holds fixtures for tests that evaluate Loopfiles,
// in package loopfile and through package sandbox's child process.
package loopfiletest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadOnlyDatabases writes into dir a Loopfile that declares every
// database engine in both runtimes (six databases, a seed file, dependants
// of three of them), then makes dir and its files read-only until the test
// ends. The Loopfile's path is returned.
func ReadOnlyDatabases(t *testing.T, dir string) string {
	t.Helper()
	var src strings.Builder
	for _, engine := range []string{"postgres", "mysql", "redis"} {
		for _, rt := range []string{"process", "container"} {
			src.WriteString("database(\"" + engine + "-" + rt + "\", engine=\"" + engine + "\", runtime=\"" + rt + "\", seed=\"seed.sql\")\n")
		}
	}
	src.WriteString(`task("check", "true", resource_deps=["postgres-process", "redis-container"])` + "\n")
	src.WriteString(`container("app", image="busybox", resource_deps=["mysql-container"])` + "\n")
	for name, body := range map[string]string{"Loopfile": src.String(), "seed.sql": "select 1;"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	return filepath.Join(dir, "Loopfile")
}

// Tree lists every path under root with its mode and modification time:
// two lists differ when anything was created, removed or written.
func Tree(t *testing.T, root string) []string {
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
