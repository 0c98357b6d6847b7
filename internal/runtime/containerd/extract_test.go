//go:build linux

package containerd

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func tarOf(t *testing.T, entries ...tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h.ModTime = time.Unix(1700000000, 0)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(h.Name))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// TestExtract_staysInRoot: symlinks the container planted (absolute or
// relative, pointing out of its root) are resolved inside the root, and a
// ".." name cannot climb out.
func TestExtract_staysInRoot(t *testing.T) {
	outside := t.TempDir()
	root := filepath.Join(t.TempDir(), "rootfs")
	// The links' targets exist inside the root too (a dangling link is
	// refused, never followed).
	if err := os.MkdirAll(filepath.Join(root, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink(outside, filepath.Join(root, "abs"))
	os.Symlink("../../../../../../"+outside, filepath.Join(root, "app", "rel"))
	os.Symlink(filepath.Join(outside, "f"), filepath.Join(root, "app", "file-link"))

	err := extract(root, tarOf(t,
		tar.Header{Name: "abs/a.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "app/rel/b.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "app/file-link", Typeflag: tar.TypeReg, Mode: 0o600},
		tar.Header{Name: "../../escape.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "app/new/dir/", Typeflag: tar.TypeDir, Mode: 0o750},
		tar.Header{Name: "app/new/dir/l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	))
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("extract wrote outside the root: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape.txt")); err == nil {
		t.Errorf("../../escape.txt escaped the root")
	}
	for name, want := range map[string]string{
		filepath.Join(outside, "a.txt"):         "", // must not exist
		filepath.Join(root, outside, "a.txt"):   "abs/a.txt",
		filepath.Join(root, outside, "b.txt"):   "app/rel/b.txt",
		filepath.Join(root, "escape.txt"):       "../../escape.txt",
		filepath.Join(root, "app", "file-link"): "app/file-link",
	} {
		b, err := os.ReadFile(name)
		if want == "" {
			if err == nil {
				t.Errorf("%s exists", name)
			}
			continue
		}
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if fi, err := os.Lstat(filepath.Join(root, "app", "file-link")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("app/file-link: %v, %v; want a regular 0600 file replacing the link", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(root, "app", "new", "dir")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("app/new/dir: %v, %v; want a 0750 dir", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(root, "app", "new", "dir", "l")); err != nil || l != "/etc/passwd" {
		t.Errorf("symlink = %q, %v", l, err)
	}
}

// TestExtract_replacesKinds: a file replaces a directory and a directory
// replaces a file.
func TestExtract_replacesKinds(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "x", "deep"), 0o755)
	os.WriteFile(filepath.Join(root, "x", "deep", "f"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "y"), nil, 0o644)
	if err := extract(root, tarOf(t,
		tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "y/", Typeflag: tar.TypeDir, Mode: 0o755},
	)); err != nil {
		t.Fatalf("extract: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "x")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("x: %v, %v; want a file", fi, err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "y")); err != nil || !fi.IsDir() {
		t.Errorf("y: %v, %v; want a dir", fi, err)
	}
}

// TestExtract_danglingLink: a directory link whose target does not exist
// is refused, not created through.
func TestExtract_danglingLink(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	os.Symlink(filepath.Join(outside, "missing"), filepath.Join(root, "dangle"))
	if err := extract(root, tarOf(t, tar.Header{Name: "dangle/x", Typeflag: tar.TypeReg, Mode: 0o644})); err == nil {
		t.Error("extract through a dangling link succeeded, want an error")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("extract wrote outside the root: %v", ents)
	}
}
