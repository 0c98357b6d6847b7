package sync

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tempRoot is a fresh project root with symlinks in its own path resolved,
// so lexical checks against it hold.
func tempRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// write creates files under root: a name ending in "/" is a directory, a
// content starting with "->" a symlink to the rest.
func write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(content[2:], p)
			if err != nil && runtime.GOOS == "windows" {
				t.Skipf("symlink %s: %v (symlinks on Windows need Developer Mode or an elevated shell)", name, err)
			}
			if _, lerr := os.Lstat(p); err == nil && lerr != nil && runtime.GOOS == "windows" {
				// Wine 8 creates links it cannot find again.
				t.Skipf("symlink %s was made but cannot be read back (%v): this system's symlinks do not work (Wine)", name, lerr)
			}
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tarEntry is one entry a recorder read.
type tarEntry struct {
	hdr     tar.Header
	content string
}

// recorder is a Target that parses what it is sent.
type recorder struct {
	copies  int                 // Copy calls
	entries map[string]tarEntry // by tar name
	names   []string            // in stream order
	deletes [][]string          // one slice per Delete call
	copyErr error               // returned by Copy after reading the stream
}

var _ Target = (*recorder)(nil)

func (r *recorder) Copy(_ context.Context, rd io.Reader) error {
	r.copies++
	if r.entries == nil {
		r.entries = map[string]tarEntry{}
	}
	tr := tar.NewReader(rd)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		r.entries[hdr.Name] = tarEntry{hdr: *hdr, content: string(b)}
		r.names = append(r.names, hdr.Name)
	}
	if _, err := io.Copy(io.Discard, rd); err != nil { // the zero blocks after the end
		return err
	}
	return r.copyErr
}

func (r *recorder) Delete(_ context.Context, paths []string) error {
	r.deletes = append(r.deletes, paths)
	return nil
}

// hashingRecorder is a recorder that also answers Hashes from a fixed map
// and records the dirs it was asked for.
type hashingRecorder struct {
	recorder
	have  map[string]Entry
	asked [][]string
}

var _ Hasher = (*hashingRecorder)(nil)

func (h *hashingRecorder) Hashes(_ context.Context, dirs []string) (map[string]Entry, error) {
	h.asked = append(h.asked, dirs)
	return h.have, nil
}
