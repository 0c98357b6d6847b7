//go:build !windows

// The FSEvents source exists on macOS only. Its portable half is tested
// everywhere but on Windows: the tests spell macOS paths (/private/var,
// /Volumes), which have no volume name and no meaning there.

package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"github.com/fsnotify/fsnotify"
)

func TestFseventOp(t *testing.T) {
	const (
		create = fsnotify.Create
		write  = fsnotify.Write
		remove = fsnotify.Remove
		rename = fsnotify.Rename
		chmod  = fsnotify.Chmod
	)
	for _, tc := range []struct {
		name   string
		flags  uint32
		op     fsnotify.Op
		rescan bool
	}{
		{"file created", fseItemCreated | fseItemIsFile, create, false},
		{"file saved", fseItemModified | fseItemIsFile, write, false},
		{"created then modified, coalesced", fseItemCreated | fseItemModified | fseItemIsFile, create | write, false},
		{"file removed", fseItemRemoved | fseItemIsFile, remove, false},
		{"created and removed, coalesced", fseItemCreated | fseItemRemoved | fseItemIsFile, create | remove, false},
		{"rename, either side", fseItemRenamed | fseItemIsFile, create | rename, false},
		{"atomic save target", fseItemRenamed | fseItemModified | fseItemIsFile, create | rename | write, false},
		{"directory created", fseItemCreated | fseItemIsDir, create, false},
		{"directory removed", fseItemRemoved | fseItemIsDir, remove, false},
		{"directory renamed", fseItemRenamed | fseItemIsDir, create | rename, false},
		{"symlink created", fseItemCreated | fseItemIsSymlink, create, false},
		{"clone", fseItemCloned | fseItemIsFile, create, false},
		{"touch", fseItemInodeMetaMod | fseItemIsFile, chmod, false},
		{"chown", fseItemChangeOwner | fseItemIsFile, chmod, false},
		{"xattr", fseItemXattrMod | fseItemIsFile, chmod, false},
		{"finder info", fseItemFinderInfoMod | fseItemIsDir, chmod, false},
		{"no item flags: something changed here", 0, create | write, false},
		{"root moved or deleted", fseRootChanged, create | remove, false},
		{"must scan subdirs", fseMustScanSubDirs, 0, true},
		{"dropped by us", fseMustScanSubDirs | fseUserDropped, 0, true},
		{"dropped by the kernel", fseMustScanSubDirs | fseKernelDropped, 0, true},
		{"volume mounted", fseMount, 0, true},
		{"volume unmounted", fseUnmount, 0, true},
		{"history done", fseHistoryDone, 0, false},
		{"ids wrapped", fseEventIDsWrapped, 0, false},
	} {
		op, rescan := fseventOp(tc.flags)
		if op != tc.op || rescan != tc.rescan {
			t.Errorf("%s: fseventOp(%#x) = %v, %v; want %v, %v", tc.name, tc.flags, op, rescan, tc.op, tc.rescan)
		}
	}
}

func TestCollapseRoots(t *testing.T) {
	got := collapseRoots([]string{"/p/b", "/p", "/q/x", "/p/b/c", "/q/xy", "/q/x"})
	if want := []string{"/p", "/q/x", "/q/xy"}; !slices.Equal(got, want) {
		t.Errorf("collapseRoots = %q, want %q", got, want)
	}
	if got, want := collapseRoots([]string{"/a", "/"}), []string{"/"}; !slices.Equal(got, want) {
		t.Errorf("collapseRoots = %q, want %q", got, want)
	}
}

func TestRootMap_Watched(t *testing.T) {
	real := map[string]string{
		"/var/folders/x/T/loop": "/private/var/folders/x/T/loop",
		"/Users/me/proj":        "/Users/me/proj",
		"/Users/me/proj/link":   "/Volumes/data/shared", // a root that is a symlink elsewhere
	}
	m := newRootMap([]string{"/var/folders/x/T/loop", "/Users/me/proj", "/Users/me/proj/link", "/gone"},
		func(p string) (string, error) {
			if r, ok := real[p]; ok {
				return r, nil
			}
			return "", os.ErrNotExist
		})
	for _, tc := range []struct{ in, want string }{
		{"/private/var/folders/x/T/loop/a/b.txt", "/var/folders/x/T/loop/a/b.txt"},
		{"/private/var/folders/x/T/loop", "/var/folders/x/T/loop"},
		{"/private/var/folders/x/T/loop/", "/var/folders/x/T/loop"},
		{"/private/var/folders/x/T/loopy/a", "/private/var/folders/x/T/loopy/a"},
		{"/Users/me/proj/src/main.go", "/Users/me/proj/src/main.go"},
		{"/Volumes/data/shared/lib.go", "/Users/me/proj/link/lib.go"},
		{"/gone/f", "/gone/f"},
		{"/elsewhere/f", "/elsewhere/f"},
	} {
		if got := m.watched(tc.in); got != tc.want {
			t.Errorf("watched(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if !m.covers("/Users/me/proj/src") || !m.covers("/var/folders/x/T/loop") || m.covers("/Users/me/projx") {
		t.Error("covers: want the roots' trees and nothing else")
	}
}

func TestRegistry(t *testing.T) {
	var r registry[string]
	a, b := r.add("a"), r.add("b")
	if a == 0 || b == 0 || a == b {
		t.Fatalf("keys %d, %d: want distinct and non-zero", a, b)
	}
	if v, ok := r.get(b); !ok || v != "b" {
		t.Errorf("get(%d) = %q, %v", b, v, ok)
	}
	r.remove(a)
	if _, ok := r.get(a); ok {
		t.Errorf("get(%d) after remove: found", a)
	}
	if c := r.add("c"); c == a {
		t.Errorf("key %d reused", c)
	}
}

func TestDecodeFSEvents(t *testing.T) {
	c := func(s string) *byte { return &append([]byte(s), 0)[0] }
	paths := []*byte{c("/a/b"), c(""), c("/é/ü")}
	flags := []uint32{fseItemCreated, 0, fseItemRemoved}
	got := decodeFSEvents(len(paths), (**byte)(unsafe.Pointer(&paths[0])), &flags[0])
	want := []rawEvent{{"/a/b", fseItemCreated}, {"", 0}, {"/é/ü", fseItemRemoved}}
	if !slices.Equal(got, want) {
		t.Errorf("decodeFSEvents = %v, want %v", got, want)
	}
	if got := decodeFSEvents(0, nil, nil); got != nil {
		t.Errorf("decodeFSEvents(0) = %v, want nil", got)
	}
}

// deliver keeps callback order but puts the barrier's events last, maps
// real paths to the watched spelling and turns drops into one overflow.
func TestFSESource_Deliver(t *testing.T) {
	s := newFSESource([]string{"/w/proj", "/w/barrier"}, "/w/barrier", func(p string) (string, error) {
		return "/private" + p, nil
	})
	s.deliver([]rawEvent{
		{"/private/w/barrier/1", fseItemCreated | fseItemIsFile},
		{"/private/w/proj/a.go", fseItemModified | fseItemIsFile},
		{"/private/w/proj", fseMustScanSubDirs | fseUserDropped},
		{"/", fseMustScanSubDirs | fseKernelDropped},
		{"/private/w/proj/b.go", fseItemInodeMetaMod | fseItemIsFile},
		{"/private/w/proj/c", fseHistoryDone},
	})
	var got []string
	for len(s.events) > 0 {
		ev := <-s.events
		got = append(got, ev.Name+" "+ev.Op.String())
	}
	want := []string{"/w/proj/a.go WRITE", "/w/proj/b.go CHMOD", "/w/barrier/1 CREATE"}
	if !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if len(s.errors) != 1 || !errors.Is(<-s.errors, fsnotify.ErrEventOverflow) {
		t.Error("want one pending ErrEventOverflow")
	}
	if err := s.Add("/w/proj/sub"); err != nil {
		t.Errorf("Add under a root: %v", err)
	}
	if err := s.Add("/w/other"); !errors.Is(err, errNotStreamed) {
		t.Errorf("Add outside the roots = %v, want errNotStreamed", err)
	}
	s.Close()
	s.deliver([]rawEvent{{"/private/w/proj/a.go", fseItemModified}}) // returns: closed
	for range eventBuffer {
		s.deliver([]rawEvent{{"/private/w/proj/a.go", fseItemModified}})
	}
}

// TestWatcher_FSEvents runs the Watcher on the FSEvents source fed by hand
// with what the FSEvents callback would deliver (real paths, coalesced
// flags): everything but the CoreServices binding, on any OS. The project is
// reached through a symlink, as /var is on macOS.
func TestWatcher_FSEvents(t *testing.T) {
	realRoot := t.TempDir()
	root := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(realRoot, root))
	writeFile(t, filepath.Join(realRoot, ".gitignore"), "node_modules/\n")
	writeFile(t, filepath.Join(realRoot, "node_modules", "pkg", "index.js"), "x")
	writeFile(t, filepath.Join(realRoot, "src", "main.go"), "x")
	writeFile(t, filepath.Join(realRoot, "src", "lib", "lib.go"), "x")
	writeFile(t, filepath.Join(realRoot, "gone", "g.txt"), "x")

	w, err := New(Options{Root: root, Paths: []string{root}})
	must(t, err)
	var src *fseSource
	w.newSource = func() (source, error) {
		src = newFSESource(w.treeRoots(w.barrier.dir), w.barrier.dir, filepath.EvalSymlinks)
		return src, nil
	}
	runWatcher(t, w)
	if got, want := w.Backend(), "FSEvents"; got != want {
		t.Errorf("Backend = %q, want %q", got, want)
	}
	if got, want := w.WatchCount(), 4; got != want { // root, src, src/lib, gone
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	ev := func(rel string, flags uint32) rawEvent { return rawEvent{filepath.Join(realRoot, rel), flags} }

	// Events in the ignored node_modules, and a coalesced "created" hint on
	// a directory that is known and unchanged: nothing to report.
	writeFile(t, filepath.Join(realRoot, "node_modules", "pkg", "index.js"), "y")
	writeFile(t, filepath.Join(realRoot, "node_modules", "pkg2", "new.js"), "y")
	src.deliver([]rawEvent{
		ev("node_modules/pkg/index.js", fseItemModified|fseItemIsFile),
		ev("node_modules/pkg2", fseItemCreated|fseItemIsDir),
		ev("node_modules/pkg2/new.js", fseItemCreated|fseItemModified|fseItemIsFile),
		ev("node_modules", fseItemInodeMetaMod|fseItemIsDir),
		ev("src/lib", fseItemCreated|fseItemIsDir),
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// Flush's sentinel reaches the Watcher only through deliver here.
	flushed := make(chan Batch, 1)
	go func() {
		b, _, err := w.Flush(ctx)
		if err != nil {
			t.Error(err)
		}
		flushed <- b
	}()
	waitFor(t, "the flush sentinel", func() bool {
		names, _ := os.ReadDir(w.barrier.dir)
		if len(names) == 0 {
			return false
		}
		src.deliver([]rawEvent{{filepath.Join(w.barrier.dir, names[0].Name()), fseItemCreated | fseItemIsFile}})
		return true
	})
	if b := <-flushed; len(b.Changes) != 0 {
		t.Fatalf("after ignored events and a stale hint: %v, want no change", b.Changes)
	}

	// A save (coalesced created|modified), a directory moved in (one rename
	// event, none for its content) and a directory removed.
	writeFile(t, filepath.Join(realRoot, "src", "main.go"), "y")
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "m", "n.txt"), "x")
	must(t, os.Rename(filepath.Join(outside, "m"), filepath.Join(realRoot, "src", "m")))
	must(t, os.RemoveAll(filepath.Join(realRoot, "gone")))
	src.deliver([]rawEvent{
		ev("src/main.go", fseItemCreated|fseItemModified|fseItemIsFile),
		ev("src/m", fseItemRenamed|fseItemIsDir),
		ev("gone/g.txt", fseItemRemoved|fseItemIsFile),
		ev("gone", fseItemRemoved|fseItemIsDir),
	})
	in := func(rel string) string { return filepath.Join(root, rel) }
	changesUntil(t, w, []Change{
		{in("src/main.go"), Write},
		{in("src/m"), Create},
		{in("src/m/n.txt"), Create},
		{in("gone"), Remove},
		{in("gone/g.txt"), Remove},
	})

	// Dropped events: the trees are rescanned.
	writeFile(t, filepath.Join(realRoot, "src", "lib", "lib.go"), "changed")
	src.deliver([]rawEvent{{"/", fseMustScanSubDirs | fseKernelDropped}})
	changesUntil(t, w, []Change{{in("src/lib/lib.go"), Write}})
}
