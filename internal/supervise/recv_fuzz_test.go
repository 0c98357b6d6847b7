//go:build linux

package supervise

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzRecv feeds arbitrary bytes to the `__recv` frame reader over a temp
// root that holds symlinks to a directory beside it. Whatever the input:
// no panic, every reply one well-formed line, an error only
// for a malformed or cut stream, and nothing written, changed or removed
// outside the root.
//
// The seed corpus (testdata/fuzz/FuzzRecv) holds what loopd sends: the
// tar stream of sync.Initial for a small project in the docker runtime's
// 64 KiB chunks followed by a delete frame; and the streams of the
// receiver's tests (every entry kind, entries that must be refused,
// deletes through symlinks, malformed and cut frames).
func FuzzRecv(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		base := t.TempDir()
		root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
		writeTestFile(t, filepath.Join(outside, "victim"), "keep")
		writeTestFile(t, filepath.Join(root, "app", "file"), "old")
		for name, target := range map[string]string{"out": outside, "app/victim": filepath.Join(outside, "victim"), "app/up": "../.."} {
			if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
		}
		before := snapshot(t, base, root)
		// Entries may come with mode 0: let the temp dir's removal in.
		t.Cleanup(func() { unlock(root) })

		tr, err := openTree(root)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		var out bytes.Buffer
		err = serveFrames(tr, bytes.NewReader(in), &out, noSignal)
		if err != nil && !errors.Is(err, errFraming) {
			t.Errorf("serveFrames: %v, want nil or a framing error", err)
		}
		for l := range strings.Lines(out.String()) {
			if l != "ok\n" && (!strings.HasPrefix(l, "err ") || strings.Count(l, "\n") != 1) {
				t.Errorf("reply %q: want \"ok\" or \"err <message>\" on one line", l)
			}
		}
		if after := snapshot(t, base, root); !slices.Equal(before, after) {
			t.Errorf("outside the root changed:\nbefore %q\nafter  %q", before, after)
		}
	})
}

// snapshot lists everything under base except root: path, mode, size,
// mtime and content, so any write, chmod or removal there shows.
func snapshot(t *testing.T, base, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := p + " " + fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + fi.ModTime().String() + " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unlock makes every directory under root writable and searchable again.
func unlock(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		} else if err != nil && p != root {
			os.Chmod(filepath.Dir(p), 0o700)
		}
		return nil
	})
	os.Chmod(root, 0o700)
}
