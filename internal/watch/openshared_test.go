package watch

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// What loop holds open while it hashes a file or lists a directory must not
// stand in an editor's way: the file can be renamed away and deleted, the
// directory renamed (on Windows this needs FILE_SHARE_DELETE).
func TestOpenShared(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "main.go")
	writeFile(t, p, "old")
	f, err := openShared(p)
	must(t, err)
	defer f.Close()
	must(t, os.Rename(p, p+"___jb_old___"))
	must(t, os.Remove(p+"___jb_old___"))
	data, err := io.ReadAll(f)
	if err != nil || string(data) != "old" {
		t.Errorf("read after rename and remove = %q, %v; want %q", data, err, "old")
	}

	dir := filepath.Join(root, "src")
	writeFile(t, filepath.Join(dir, "a.go"), "x")
	d, err := openShared(dir)
	must(t, err)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil || !slices.Equal(names, []string{"a.go"}) {
		t.Errorf("Readdirnames = %q, %v; want [a.go]", names, err)
	}
	must(t, os.Rename(dir, filepath.Join(root, "lib")))
}
