//go:build unix

package sync

// Tests of Unix host semantics: permission and setgid bits, symlink
// targets such as /etc/passwd, fifos and sockets.

import (
	"archive/tar"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

func TestApply_headers(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{
		"src/main.go":   "package main\n",
		"src/run.sh":    "#!/bin/sh\n",
		"src/sub/":      "",
		"src/sub/x.txt": "x",
	})
	src := filepath.Join(root, "src")
	if err := os.Chmod(filepath.Join(src, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "sub"), 0o775|os.ModeSetgid); err != nil { // setgid dir
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "main.go"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}},
		[]string{filepath.Join(src, "main.go"), filepath.Join(src, "run.sh"), filepath.Join(src, "sub")})

	for _, tt := range []struct {
		uid, gid         int
		wantUID, wantGID int
	}{{1000, 1001, 1000, 1001}, {-1, -1, 0, 0}} {
		var rec recorder
		st, err := Apply(t.Context(), &rec, plan, Options{Root: root, UID: tt.uid, GID: tt.gid})
		if err != nil {
			t.Fatal(err)
		}
		if rec.copies != 1 || len(rec.deletes) != 0 {
			t.Errorf("Copy calls %d, Delete calls %d; want 1, 0", rec.copies, len(rec.deletes))
		}
		wantNames := []string{"app/main.go", "app/run.sh", "app/sub/", "app/sub/x.txt"}
		if !slices.Equal(rec.names, wantNames) {
			t.Errorf("names %q, want %q (parents before children)", rec.names, wantNames)
		}
		for name, e := range rec.entries {
			if e.hdr.Uid != tt.wantUID || e.hdr.Gid != tt.wantGID {
				t.Errorf("UID %d: %s owned by %d:%d, want %d:%d", tt.uid, name, e.hdr.Uid, e.hdr.Gid, tt.wantUID, tt.wantGID)
			}
		}
		checks := []struct {
			name string
			typ  byte
			mode int64
		}{{"app/main.go", tar.TypeReg, 0o644}, {"app/run.sh", tar.TypeReg, 0o755}, {"app/sub/", tar.TypeDir, 0o2775}}
		for _, c := range checks {
			e := rec.entries[c.name]
			if e.hdr.Typeflag != c.typ || e.hdr.Mode != c.mode {
				t.Errorf("%s: type %c mode %o, want %c %o", c.name, e.hdr.Typeflag, e.hdr.Mode, c.typ, c.mode)
			}
		}
		if got := rec.entries["app/main.go"]; got.content != "package main\n" || !got.hdr.ModTime.Equal(mtime.Truncate(time.Second)) {
			t.Errorf("main.go: content %q mtime %v, want %q %v", got.content, got.hdr.ModTime, "package main\n", mtime.Truncate(time.Second))
		}
		want := Stats{Files: 3, Dirs: 1, Bytes: int64(len("package main\n#!/bin/sh\nx"))}
		if st.Files != want.Files || st.Dirs != want.Dirs || st.Bytes != want.Bytes || len(st.Refused) != 0 {
			t.Errorf("stats %+v, want %+v", st, want)
		}
	}
}

func TestApply_symlinks(t *testing.T) {
	root := tempRoot(t)
	outside := tempRoot(t)
	write(t, root, map[string]string{
		"shared/x.txt":       "x",
		"src/target.txt":     "t",
		"src/rel":            "->target.txt",
		"src/up":             "->../shared/x.txt",
		"src/abs":            "->" + filepath.Join(root, "shared", "x.txt"),
		"src/absroot":        "->" + root,
		"src/dangling":       "->nothing/here",
		"src/escape":         "->../../../../../../etc/passwd",
		"src/escape-abs":     "->/etc/passwd",
		"src/escape-sibling": "->" + outside,
		"src/sneaky":         "->sub/../../../outside",
	})
	src := filepath.Join(root, "src")
	names := []string{"rel", "up", "abs", "absroot", "dangling", "escape", "escape-abs", "escape-sibling", "sneaky"}
	var changed []string
	for _, n := range names {
		changed = append(changed, filepath.Join(src, n))
	}
	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}}, changed)

	var rec recorder
	st, err := Apply(t.Context(), &rec, plan, Options{Root: root, UID: 1000, GID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wantLinks := map[string]string{
		"app/rel":      "target.txt",
		"app/up":       "../shared/x.txt",
		"app/abs":      "../shared/x.txt", // absolute inside the root: made relative
		"app/absroot":  "..",
		"app/dangling": "nothing/here", // inside the root, even if missing
	}
	for name, want := range wantLinks {
		e, ok := rec.entries[name]
		if !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != want {
			t.Errorf("%s: present %v type %c link %q, want a symlink to %q", name, ok, e.hdr.Typeflag, e.hdr.Linkname, want)
		}
	}
	if len(rec.entries) != len(wantLinks) {
		t.Errorf("entries %q, want only %d links", rec.names, len(wantLinks))
	}
	if st.Links != len(wantLinks) {
		t.Errorf("Stats.Links %d, want %d", st.Links, len(wantLinks))
	}
	refused := strings.Join(st.Refused, "\n")
	for _, n := range []string{"escape", "escape-abs", "escape-sibling", "sneaky"} {
		if !strings.Contains(refused, filepath.Join(src, n)+": symlink to ") {
			t.Errorf("%s not refused; refused:\n%s", n, refused)
		}
	}
	if len(st.Refused) != 4 {
		t.Errorf("refused %d, want 4:\n%s", len(st.Refused), refused)
	}

	// Without a root no symlink can be checked: all are refused.
	st, err = Apply(t.Context(), &recorder{}, plan, Options{UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Links != 0 || len(st.Refused) != len(names) {
		t.Errorf("no root: %d links, %d refused; want 0, %d", st.Links, len(st.Refused), len(names))
	}
}

func TestApply_refusesSpecialFiles(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{"src/ok.txt": "ok"})
	src := filepath.Join(root, "src")
	fifo := filepath.Join(src, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(src, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	plan := NewPlan([]model.SyncRule{{Local: src, Remote: "/app"}}, []string{fifo, sock, filepath.Join(src, "ok.txt")})
	var rec recorder
	st, err := Apply(t.Context(), &rec, plan, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.names, []string{"app/ok.txt"}) {
		t.Errorf("names %q, want only app/ok.txt", rec.names)
	}
	if len(st.Refused) != 2 || !strings.Contains(st.Refused[0], "fifo") || !strings.Contains(st.Refused[1], "socket") {
		t.Errorf("refused %q, want the fifo and the socket", st.Refused)
	}
}
