package sync

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// readAll reads the host file p through c, as Apply does.
func readAll(t *testing.T, c *confined, p string) (string, error) {
	t.Helper()
	f, err := c.openFile(p)
	if err != nil {
		return "", err
	}
	defer f.close()
	size, regular, err := f.stat()
	if err != nil || !regular {
		t.Fatalf("stat %s: size %d, regular %v, %v", p, size, regular, err)
	}
	var out []byte
	buf := make([]byte, 4)
	for {
		n, err := f.read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
	}
	if int64(len(out)) != size {
		t.Errorf("read %d bytes of %s, stat says %d", len(out), p, size)
	}
	return string(out), nil
}

func TestConfined_windowsReadsFile(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"src/sub/a.txt": "inside the project"})
	c, err := newConfined(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	got, err := readAll(t, c, filepath.Join(root, "src", "sub", "a.txt"))
	if err != nil || got != "inside the project" {
		t.Errorf("read = %q, %v; want %q", got, err, "inside the project")
	}

	// End to end: Apply streams it with a container path in slashes and
	// docker cp's mode.
	src := filepath.Join(root, "src")
	var rec recorder
	st, err := Apply(t.Context(), &rec, NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}},
		[]string{filepath.Join(src, "sub", "a.txt")}), Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := rec.entries["app/sub/a.txt"]
	if !ok || e.content != "inside the project" || e.hdr.Mode != 0o755 || st.Files != 1 {
		t.Errorf("entries %q, a.txt %+v, stats %+v; want app/sub/a.txt, mode 755", rec.names, e.hdr, st)
	}
}

func TestConfined_windowsRefusesSymlinkedDirOutside(t *testing.T) {
	root, elsewhere := tempRoot(t), tempRoot(t)
	write(t, elsewhere, map[string]string{"secret.txt": "SECRET"})
	write(t, root, map[string]string{"lnk": "->" + elsewhere}) // skips without symlink rights
	c, err := newConfined(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()

	// Through confinement: the link's directory resolves outside.
	got, err := readAll(t, c, filepath.Join(root, "lnk", "secret.txt"))
	var oe *outsideError
	if !errors.As(err, &oe) {
		t.Errorf("read through lnk = %q, %v; want an *outsideError", got, err)
	}

	// The primitives alone never go through the link, as a directory or
	// as a file.
	if d, err := openSubdir(c.rootDir, "lnk"); !errors.Is(err, errReparse) {
		if err == nil {
			closeDir(d)
		}
		t.Errorf("openSubdir(lnk) = %v, want errReparse", err)
	}
	if f, err := openIn(c.rootDir, "lnk"); !errors.Is(err, errReparse) {
		if err == nil {
			f.close()
		}
		t.Errorf("openIn(lnk) = %v, want errReparse", err)
	}
	// And os.Root itself refuses to leave: Open follows the link but not
	// outside the root.
	if f, err := c.rootDir.Open(filepath.Join("lnk", "secret.txt")); err == nil {
		f.Close()
		t.Error("os.Root opened lnk\\secret.txt outside the root")
	}

	// A whole Apply copies nothing from elsewhere.
	var rec recorder
	st, err := Apply(t.Context(), &rec, Plan{Copies: []File{{Local: filepath.Join(root, "lnk", "secret.txt"), Remote: "/app/secret.txt"}}},
		Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.entries) != 0 || len(st.Refused) != 1 {
		t.Errorf("entries %q, refused %q; want nothing copied, one refusal", rec.names, st.Refused)
	}
}
