//go:build unix

package fsat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openDir opens dir for the *at calls; closed at the test's end.
func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveAll(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, filepath.Join(outside, "keep"), "k")
	write(t, filepath.Join(dir, "tree", "a", "b", "f"), "x")
	write(t, filepath.Join(dir, "tree", "g"), "y")
	if err := os.Symlink(outside, filepath.Join(dir, "tree", "link")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "file"), "z")
	fd := openDir(t, dir)

	for _, name := range []string{"tree", "file", "missing"} {
		if err := RemoveAll(fd, name); err != nil {
			t.Errorf("RemoveAll(%s): %v", name, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("removed through a symlink: %v", err)
	}
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	fd := openDir(t, dir)

	// Over a file.
	write(t, filepath.Join(dir, "f"), "old")
	write(t, filepath.Join(dir, ".tmp1"), "new")
	if err := Replace(fd, ".tmp1", "f"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "new" {
		t.Errorf("f = %q, want new", b)
	}
	// Over a directory that is not empty.
	write(t, filepath.Join(dir, "d", "sub", "x"), "x")
	write(t, filepath.Join(dir, ".tmp2"), "file now")
	if err := Replace(fd, ".tmp2", "d"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d")); string(b) != "file now" {
		t.Errorf("d = %q, want the file", b)
	}
	// A failure removes tmp.
	write(t, filepath.Join(dir, ".tmp3"), "never placed")
	if err := Replace(fd, ".tmp3", "no/such"); err == nil {
		t.Fatal("rename into a missing directory: got nil")
	}
	if _, err := os.Lstat(filepath.Join(dir, ".tmp3")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tmp left after a failure: %v", err)
	}
}
