package sync

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/zeebo/xxh3"

	"github.com/loopdev/loop/internal/model"
)

func TestInitial_hasher(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{
		"src/same.txt":    "same",
		"src/changed.txt": "new content",
		"src/new.txt":     "new",
		"src/mode.sh":     "#!/bin/sh",
		"src/dir/":        "",
		"src/dir/in.txt":  "in",
		"src/link":        "->same.txt",
		"src/relink":      "->new.txt",
		"src/lib/l.go":    "package lib",
		"src/.cache/x":    "ignored on the host, never copied",
	})
	src := filepath.Join(root, "src")
	if err := os.Chmod(filepath.Join(src, "mode.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := func(s string) uint64 { return xxh3.HashString(s) }
	file := localMode(0o644) // what a new file is synced with on this host
	fake := &hashingRecorder{have: map[string]Entry{
		"/app":                {Kind: 'D', Mode: 0o755},
		"/app/same.txt":       {Kind: 'F', Hash: h("same"), Mode: file},
		"/app/changed.txt":    {Kind: 'F', Hash: h("old content"), Mode: file},
		"/app/mode.sh":        {Kind: 'F', Hash: h("#!/bin/sh"), Mode: 0o644},
		"/app/dir":            {Kind: 'D', Mode: 0o755},
		"/app/dir/in.txt":     {Kind: 'F', Hash: h("in"), Mode: file},
		"/app/link":           {Kind: 'L', Link: "same.txt"},
		"/app/relink":         {Kind: 'L', Link: "same.txt"},
		"/app/stale.txt":      {Kind: 'F', Hash: 1, Mode: file},
		"/app/staledir":       {Kind: 'D', Mode: 0o755},
		"/app/staledir/x":     {Kind: 'F', Hash: 2, Mode: file},
		"/app/dir/stale":      {Kind: 'F', Hash: 3, Mode: file},
		"/app/node_modules":   {Kind: 'D', Mode: 0o755}, // installed in the image, ignored on the host: kept
		"/app/node_modules/m": {Kind: 'F', Hash: 4, Mode: file},
		"/app/.cache":         {Kind: 'D', Mode: 0o755},
		"/app/lib":            {Kind: 'D', Mode: 0o755}, // exists on the host under a nested rule: kept
		"/opt/lib":            {Kind: 'D', Mode: 0o755},
		"/opt/lib/l.go":       {Kind: 'F', Hash: h("package lib"), Mode: file},
		"/opt/lib/stale.go":   {Kind: 'F', Hash: 5, Mode: file},
		"/opt/lib/sub/":       {Kind: 'D', Mode: 0o755}, // an unclean key is cleaned
	}}
	rules := []model.SyncRule{{Local: src, Remote: "/app"}, {Local: filepath.Join(src, "lib"), Remote: "/opt/lib"}, {Local: filepath.Join(root, "nope"), Remote: "/app/nope"}}
	ignore := func(p string, isDir bool) bool {
		b := filepath.Base(p)
		return b == "node_modules" || b == ".cache"
	}
	st, err := Initial(t.Context(), fake, rules, Options{Root: root, UID: 1000, GID: 1000, Ignore: ignore})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"/app", "/opt/lib"}}; len(fake.asked) != 1 || !slices.Equal(fake.asked[0], want[0]) {
		t.Errorf("Hashes asked for %q, want %q (/app/nope is inside /app)", fake.asked, want)
	}
	names := slices.Clone(fake.names)
	sort.Strings(names)
	want := []string{"app/changed.txt", "app/mode.sh", "app/new.txt", "app/relink"}
	if !slices.Equal(names, want) {
		t.Errorf("copied %q, want %q", names, want)
	}
	if e := fake.entries["app/mode.sh"]; e.hdr.Mode != 0o755 || e.hdr.Uid != 1000 {
		t.Errorf("mode.sh: mode %o uid %d, want 755 1000", e.hdr.Mode, e.hdr.Uid)
	}
	wantDel := []string{"/app/dir/stale", "/app/stale.txt", "/app/staledir", "/opt/lib/stale.go", "/opt/lib/sub"}
	if len(fake.deletes) != 1 || !slices.Equal(fake.deletes[0], wantDel) {
		t.Errorf("deletes %q, want %q", fake.deletes, wantDel)
	}
	if st.Files != 3 || st.Links != 1 || st.Deleted != len(wantDel) {
		t.Errorf("stats %+v, want 3 files, 1 link, %d deleted", st, len(wantDel))
	}
}

func TestInitial_noHasher(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"src/a.txt": "a", "src/d/b.txt": "b", "src/ign/c": "c", "app.yml": "y"})
	src := filepath.Join(root, "src")
	var rec recorder
	rules := []model.SyncRule{{Local: src, Remote: "/app"}, {Local: filepath.Join(root, "app.yml"), Remote: "/etc/app.yml"}}
	ignore := func(p string, isDir bool) bool { return filepath.Base(p) == "ign" }
	st, err := Initial(t.Context(), &rec, rules, Options{Root: root, Ignore: ignore})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app/", "app/a.txt", "app/d/", "app/d/b.txt", "etc/app.yml"}
	if !slices.Equal(rec.names, want) {
		t.Errorf("copied %q, want %q", rec.names, want)
	}
	if rec.copies != 1 || len(rec.deletes) != 0 || st.Deleted != 0 {
		t.Errorf("Copy calls %d, Delete calls %d: want 1, 0", rec.copies, len(rec.deletes))
	}
}

func TestSameMode(t *testing.T) {
	tests := []struct {
		local, remote fs.FileMode
		want          bool
	}{
		{0o644, 0o644, true},
		{0o755, 0o644, false},
		{0o755 | fs.ModeSetgid | fs.ModeDir, 0o755 | fs.ModeSetgid, true},
		{0o755 | fs.ModeSetgid, 0o2755, true}, // raw Unix bits from the container
		{0o755 | fs.ModeSetuid, 0o755, false},
		{0o1777 & 0o777, 0o1777, false},
	}
	for _, tt := range tests {
		if got := sameMode(tt.local, tt.remote); got != tt.want {
			t.Errorf("sameMode(%v, %v) = %v, want %v", tt.local, tt.remote, got, tt.want)
		}
	}
}

func TestHashFile_matchesHash(t *testing.T) {
	dir := tempRoot(t)
	c, err := newConfined(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for _, n := range []int{0, 1, 16, 240, 241, 1024, 100_000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := hashFile(c, p)
		if err != nil || got != xxh3.Hash(b) {
			t.Errorf("hashFile(%d bytes) = %x, %v; want %x", n, got, err, xxh3.Hash(b))
		}
	}
}
