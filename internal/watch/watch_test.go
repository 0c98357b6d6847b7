package watch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestWatcher_GitignoreNestedNegationDirOnly(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".gitignore"), "*.log\n!keep.log\nbuild/\n/top.txt\ngen/**\n")
	writeFile(t, filepath.Join(root, ".loopignore"), "secret/\n")
	writeFile(t, filepath.Join(root, "sub", ".gitignore"), "local.txt\n!important.log\n")
	for _, d := range []string{"build/obj", "secret", "sub/build", "gen/x", "src"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Ignore: []string{"*.bak"}})
	// Watched: root, sub, gen, src; gen/x is ignored by gen/**.
	if got, want := w.WatchCount(), 4; got != want {
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	files := map[string]bool{ // path -> reported
		"a.log":             false,
		"keep.log":          true,
		"build/obj/a.o":     false,
		"sub/build/x":       false,
		"top.txt":           false,
		"sub/top.txt":       true,
		"sub/local.txt":     false,
		"sub/important.log": true,
		"sub/other.log":     false,
		"secret/key":        false,
		"gen/y.go":          false,
		"src/main.go":       true,
		"src/main.go.bak":   false,
		"src/.main.go.swp":  false,
		".git/HEAD":         false,
		"build":             false, // dir exists; not written
	}
	var want []Change
	for rel, reported := range files {
		if rel == "build" {
			continue
		}
		writeFile(t, filepath.Join(root, rel), "x")
		if reported {
			want = append(want, Change{filepath.Join(root, rel), Create})
		}
	}
	changesUntil(t, w, want)
}

func TestWatcher_IgnoredNodeModulesNotWatchedNorWalked(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".gitignore"), "node_modules/\n")
	for i := range 30 {
		writeFile(t, filepath.Join(root, "node_modules", fmt.Sprintf("pkg%d", i), "lib", "index.js"), "x")
	}
	writeFile(t, filepath.Join(root, "src", "main.go"), "x")
	var mu sync.Mutex
	var seen []string
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Interest: func(p string, isDir bool) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, p)
		return true
	}})
	if got, want := w.WatchCount(), 2; got != want { // root, src
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	mu.Lock()
	for _, p := range seen {
		if strings.Contains(p, "node_modules") {
			t.Errorf("walked %s inside the ignored node_modules", p)
		}
	}
	mu.Unlock()
	writeFile(t, filepath.Join(root, "node_modules", "pkg0", "new.js"), "x")
	writeFile(t, filepath.Join(root, "src", "main.go"), "y")
	changesUntil(t, w, []Change{{filepath.Join(root, "src", "main.go"), Write}})
}

func TestWatcher_GitignoreChangeAtRuntime(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".gitignore"), "vendor/\n")
	writeFile(t, filepath.Join(root, "vendor", "lib", "a.go"), "x")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	if got, want := w.WatchCount(), 1; got != want {
		t.Fatalf("WatchCount = %d, want %d", got, want)
	}
	// Un-ignore vendor, ignore *.gen: vendor is now watched and its files
	// reported as created.
	gi := filepath.Join(root, ".gitignore")
	writeFile(t, gi, "*.gen\n")
	changesUntil(t, w, []Change{
		{gi, Write},
		{filepath.Join(root, "vendor"), Create},
		{filepath.Join(root, "vendor", "lib"), Create},
		{filepath.Join(root, "vendor", "lib", "a.go"), Create},
	})
	if got, want := w.WatchCount(), 3; got != want {
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	writeFile(t, filepath.Join(root, "x.gen"), "x")
	writeFile(t, filepath.Join(root, "vendor", "lib", "b.go"), "x")
	changesUntil(t, w, []Change{{filepath.Join(root, "vendor", "lib", "b.go"), Create}})
}

func TestWatcher_Burst10000FilesOneBatch(t *testing.T) {
	root := t.TempDir()
	for d := range 10 {
		must(t, os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%d", d)), 0o755))
	}
	// The writer below may be descheduled (-race, a loaded machine) for
	// longer than the default 15ms; the test is about the burst, not timing.
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: 300 * time.Millisecond, MaxWait: time.Minute})
	want := make(map[string]bool)
	for i := range 10000 {
		p := filepath.Join(root, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%05d.txt", i))
		must(t, os.WriteFile(p, []byte(p), 0o644))
		want[p] = true
	}
	b := nextBatch(t, w)
	if got := len(b.Changes); got != len(want) {
		t.Fatalf("batch has %d changes, want %d", got, len(want))
	}
	for _, c := range b.Changes {
		if !want[c.Path] || c.Op != Create {
			t.Fatalf("unexpected change %v", c)
		}
	}
	if b.Start.After(b.End) {
		t.Errorf("Start %v after End %v", b.Start, b.End)
	}
	noBatch(t, w)
}

func TestWatcher_AtomicSave(t *testing.T) {
	tests := []struct {
		name string
		save func(t *testing.T, target string)
	}{
		{"in place (VS Code, Emacs, Go's os.WriteFile)", func(t *testing.T, target string) {
			writeFile(t, target, "new")
		}},
		{"in place, truncated then written", func(t *testing.T, target string) {
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			must(t, f.Sync())
			_, err = f.WriteString("new")
			must(t, err)
			must(t, f.Close())
		}},
		{"temp and rename (atomic save)", func(t *testing.T, target string) {
			tmp := target + ".tmp.12345"
			writeFile(t, tmp, "new")
			must(t, os.Rename(tmp, target))
		}},
		{"vim backup rename", func(t *testing.T, target string) {
			probe := filepath.Join(filepath.Dir(target), "4913")
			writeFile(t, probe, "")
			must(t, os.Remove(probe))
			must(t, os.Rename(target, target+"~"))
			writeFile(t, target, "new")
			must(t, os.Remove(target+"~"))
		}},
		{"JetBrains safe write", func(t *testing.T, target string) {
			writeFile(t, target+"___jb_tmp___", "new")
			must(t, os.Rename(target, target+"___jb_old___"))
			must(t, os.Rename(target+"___jb_tmp___", target))
			must(t, os.Remove(target+"___jb_old___"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			target := filepath.Join(root, "main.go")
			writeFile(t, target, "old")
			// A lone save is delivered after Settle, not Debounce: with
			// an hour of Debounce the batch arrives only that way.
			w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: time.Hour, MaxWait: 2 * time.Hour})
			// Windows refuses to replace a file that anyone has open,
			// loop's background hasher included (see openShared): this
			// test is about the batch, not about that race.
			waitHashed(t, w)
			tt.save(t, target)
			b := nextBatch(t, w)
			if got, want := fmt.Sprint(b.Changes), fmt.Sprint([]Change{{target, Write}}); got != want {
				t.Fatalf("changes = %s, want %s", got, want)
			}
			noBatch(t, w)
		})
	}
}

func TestWatcher_Coalesce(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "existing.txt")
	writeFile(t, existing, "x")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: 100 * time.Millisecond})
	created := filepath.Join(root, "created.txt")
	writeFile(t, created, "a")
	f, err := os.OpenFile(created, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("b") // create + write = create
	must(t, err)
	must(t, f.Close())
	temp := filepath.Join(root, "temp.txt")
	writeFile(t, temp, "a")
	must(t, os.Remove(temp)) // create + remove = nothing
	writeFile(t, existing, "y")
	must(t, os.Remove(existing)) // write + remove = remove
	b := nextBatch(t, w)
	if got, want := fmt.Sprint(b.Changes), fmt.Sprint([]Change{{created, Create}, {existing, Remove}}); got != want {
		t.Fatalf("changes = %s, want %s", got, want)
	}
}

func TestWatcher_Rename(t *testing.T) {
	root := t.TempDir()
	from, to := filepath.Join(root, "a.txt"), filepath.Join(root, "sub", "b.txt")
	writeFile(t, from, "x")
	must(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	must(t, os.Rename(from, to))
	changesUntil(t, w, []Change{{from, Remove}, {to, Create}})
}

func TestWatcher_NewDirectory(t *testing.T) {
	root := t.TempDir()
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	// mkdir -p and files written right away: some exist before the new
	// directory's watch is added and are found by walking it.
	deep := filepath.Join(root, "a", "b", "c")
	must(t, os.MkdirAll(deep, 0o755))
	writeFile(t, filepath.Join(deep, "f.txt"), "x")
	// A tree moved in from elsewhere produces no events for its content.
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "m", "n", "g.txt"), "x")
	must(t, os.Rename(filepath.Join(outside, "m"), filepath.Join(root, "m")))
	changesUntil(t, w, []Change{
		{filepath.Join(root, "a"), Create},
		{filepath.Join(root, "a", "b"), Create},
		{deep, Create},
		{filepath.Join(deep, "f.txt"), Create},
		{filepath.Join(root, "m"), Create},
		{filepath.Join(root, "m", "n"), Create},
		{filepath.Join(root, "m", "n", "g.txt"), Create},
	})
	if got, want := w.WatchCount(), 6; got != want {
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	// Files created later in the new directories are seen through its watch.
	writeFile(t, filepath.Join(root, "m", "n", "h.txt"), "x")
	changesUntil(t, w, []Change{{filepath.Join(root, "m", "n", "h.txt"), Create}})
}

func TestWatcher_RemovedDirectory(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "gone", "sub", "a.txt"), "x")
	writeFile(t, filepath.Join(root, "moved", "sub", "b.txt"), "x")
	writeFile(t, filepath.Join(root, "keep.txt"), "x")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	if got, want := w.WatchCount(), 5; got != want {
		t.Fatalf("WatchCount = %d, want %d", got, want)
	}
	err := os.RemoveAll(filepath.Join(root, "gone"))
	skipWineRemoveWatched(t, err)
	must(t, err)
	must(t, os.Rename(filepath.Join(root, "moved"), filepath.Join(t.TempDir(), "moved")))
	changesUntil(t, w, []Change{
		{filepath.Join(root, "gone"), Remove},
		{filepath.Join(root, "gone", "sub"), Remove},
		{filepath.Join(root, "gone", "sub", "a.txt"), Remove},
		{filepath.Join(root, "moved"), Remove},
		{filepath.Join(root, "moved", "sub"), Remove},
		{filepath.Join(root, "moved", "sub", "b.txt"), Remove},
	})
	waitFor(t, "watch count 1", func() bool { return w.WatchCount() == 1 })
}

func TestWatcher_UnchangedWriteIgnored(t *testing.T) {
	root := t.TempDir()
	walked := filepath.Join(root, "walked.txt") // hashed in the background
	writeFile(t, walked, "same")
	ageFiles(t, root)
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	waitHashed(t, w)
	writeFile(t, walked, "same")
	noBatch(t, w)

	created := filepath.Join(root, "created.txt") // hashed when reported
	writeFile(t, created, "one")
	changesUntil(t, w, []Change{{created, Create}})
	writeFile(t, created, "one")
	noBatch(t, w)
	writeFile(t, created, "two")
	changesUntil(t, w, []Change{{created, Write}})
	writeFile(t, walked, "different")
	changesUntil(t, w, []Change{{walked, Write}})
}

func TestWatcher_UnknownHashCountsAsChanged(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "fresh.txt") // modified just now: no baseline hash
	writeFile(t, p, "same")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	waitHashed(t, w)
	writeFile(t, p, "same")
	changesUntil(t, w, []Change{{p, Write}})
}

func TestWatcher_TouchIgnored(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a.txt")
	writeFile(t, p, "x")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	now := time.Now()
	must(t, os.Chtimes(p, now, now))
	must(t, os.Chmod(p, 0o600))
	noBatch(t, w)
}

func TestWatcher_InterestPrunes(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "skip", "deep", "a.go"), "x")
	writeFile(t, filepath.Join(root, "src", "a.go"), "x")
	interest := func(p string, isDir bool) bool {
		return filepath.Base(p) != "skip" && !strings.HasSuffix(p, ".md")
	}
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Interest: interest})
	if got, want := w.WatchCount(), 2; got != want { // root, src
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	writeFile(t, filepath.Join(root, "skip", "deep", "a.go"), "y")
	writeFile(t, filepath.Join(root, "src", "README.md"), "y")
	writeFile(t, filepath.Join(root, "src", "a.go"), "y")
	changesUntil(t, w, []Change{{filepath.Join(root, "src", "a.go"), Write}})
}

func TestWatcher_MaxWaitUnderContinuousWrites(t *testing.T) {
	root := t.TempDir()
	const maxWait = 300 * time.Millisecond
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: 100 * time.Millisecond, MaxWait: maxWait})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			// A new file each time: never a lone save.
			if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("log%04d.txt", i)), []byte("x"), 0o644); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	// The writes never pause for Debounce, so only MaxWait ends batches.
	for range 2 {
		b := nextBatch(t, w)
		if got := b.End.Sub(b.Start); got > maxWait+200*time.Millisecond {
			t.Errorf("batch closed %v after its first event, want about %v", got, maxWait)
		}
		if len(b.Changes) == 0 {
			t.Error("empty batch")
		}
		for _, c := range b.Changes {
			if c.Op != Create {
				t.Errorf("change %v, want a create", c)
			}
		}
	}
}

func TestWatcher_PathsOutsideRoot(t *testing.T) {
	base := t.TempDir()
	root, shared, single := filepath.Join(base, "app"), filepath.Join(base, "shared"), filepath.Join(base, "conf")
	writeFile(t, filepath.Join(root, "main.go"), "x")
	writeFile(t, filepath.Join(shared, ".gitignore"), "*.o\n")
	writeFile(t, filepath.Join(shared, "lib", "lib.go"), "x")
	writeFile(t, filepath.Join(single, "app.yaml"), "x")
	writeFile(t, filepath.Join(single, "other.yaml"), "x")
	w := startWatcher(t, Options{
		Root:  root,
		Paths: []string{root, shared, filepath.Join(single, "app.yaml")},
	})
	if got, want := w.WatchCount(), 4; got != want { // app, shared, shared/lib, conf
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	waitHashed(t, w) // app.yaml is replaced by a rename: see TestWatcher_AtomicSave
	writeFile(t, filepath.Join(shared, "lib", "lib.go"), "y")
	writeFile(t, filepath.Join(shared, "lib", "lib.o"), "y")
	writeFile(t, filepath.Join(single, "other.yaml"), "y")
	tmp := filepath.Join(single, "app.yaml.tmp")
	writeFile(t, tmp, "y")
	must(t, os.Rename(tmp, filepath.Join(single, "app.yaml")))
	changesUntil(t, w, []Change{
		{filepath.Join(shared, "lib", "lib.go"), Write},
		{filepath.Join(single, "app.yaml"), Write},
	})
}

func TestWatcher_OverflowRescans(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "d")
	writeFile(t, filepath.Join(dir, "a.txt"), "a")
	writeFile(t, filepath.Join(dir, "b.txt"), "b")
	writeFile(t, filepath.Join(dir, "same.txt"), "s")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}})
	overflow := overflowOf(w.src)
	if overflow == nil {
		t.Skipf("backend %s: its overflow path is tested by TestWatcher_FSEvents", w.Backend())
	}
	// Lose the events of d: drop its inotify watch behind the watcher's back,
	// change things, put the watch back and report an overflow.
	must(t, w.src.Remove(dir))
	writeFile(t, filepath.Join(dir, "a.txt"), "aaaa")
	must(t, os.Remove(filepath.Join(dir, "b.txt")))
	writeFile(t, filepath.Join(dir, "new.txt"), "n")
	writeFile(t, filepath.Join(dir, "newdir", "x.txt"), "x")
	must(t, w.src.Add(dir))
	overflow <- fsnotify.ErrEventOverflow
	changesUntil(t, w, []Change{
		{filepath.Join(dir, "a.txt"), Write},
		{filepath.Join(dir, "b.txt"), Remove},
		{filepath.Join(dir, "new.txt"), Create},
		{filepath.Join(dir, "newdir"), Create},
		{filepath.Join(dir, "newdir", "x.txt"), Create},
	})
	if got, want := w.WatchCount(), 3; got != want {
		t.Errorf("WatchCount = %d, want %d", got, want)
	}
	// newdir is watched from now on.
	writeFile(t, filepath.Join(dir, "newdir", "y.txt"), "y")
	changesUntil(t, w, []Change{{filepath.Join(dir, "newdir", "y.txt"), Create}})
}

// Anything but a lone save waits for Debounce of quiet: a new file, a
// removal, two files (here both pending when the first lands), a file
// emptied (maybe caught between truncate and write).
func TestWatcher_NotLoneWaitsForDebounce(t *testing.T) {
	const debounce = 150 * time.Millisecond
	tests := []struct {
		name string
		do   func(t *testing.T, root string) []Change
	}{
		{"new file", func(t *testing.T, root string) []Change {
			p := filepath.Join(root, "new.go")
			writeFile(t, p, "x")
			return []Change{{p, Create}}
		}},
		{"removal", func(t *testing.T, root string) []Change {
			p := filepath.Join(root, "a.go")
			must(t, os.Remove(p))
			return []Change{{p, Remove}}
		}},
		{"two files at once", func(t *testing.T, root string) []Change {
			a, b := filepath.Join(root, "a.go"), filepath.Join(root, "b.go")
			writeFile(t, b+".tmp", "new")
			writeFile(t, a+".tmp", "new")
			must(t, os.Rename(a+".tmp", a))
			must(t, os.Rename(b+".tmp", b))
			return []Change{{a, Write}, {b, Write}}
		}},
		{"emptied", func(t *testing.T, root string) []Change {
			p := filepath.Join(root, "a.go")
			writeFile(t, p, "")
			return []Change{{p, Write}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "a.go"), "old")
			writeFile(t, filepath.Join(root, "b.go"), "old")
			w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: debounce, MaxWait: time.Minute})
			waitHashed(t, w)
			want := tt.do(t, root)
			b := nextBatch(t, w)
			if got := fmt.Sprint(b.Changes); got != fmt.Sprint(want) {
				t.Fatalf("changes = %s, want %v", got, want)
			}
			if got := b.End.Sub(b.Start); got < debounce {
				t.Errorf("batch closed %v after its first event, before the %v debounce", got, debounce)
			}
		})
	}
}

// Rewriting many known files (a formatter, a code generator) is at most
// two batches: the first file may go at once as a lone save, the rest is one
// batch once the burst is seen.
func TestWatcher_RewriteBurstAtMostTwoBatches(t *testing.T) {
	root := t.TempDir()
	var want []Change
	for i := range 200 {
		p := filepath.Join(root, fmt.Sprintf("f%03d.go", i))
		writeFile(t, p, "old")
		want = append(want, Change{p, Write})
	}
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, Debounce: 300 * time.Millisecond, MaxWait: time.Minute})
	waitHashed(t, w)
	for _, c := range want {
		writeFile(t, c.Path, "new")
	}
	var got []Change
	batches := 0
	for len(got) < len(want) {
		got = mergeChanges(got, nextBatch(t, w).Changes)
		batches++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if batches > 2 {
		t.Errorf("%d batches, want at most 2", batches)
	}
	noBatch(t, w)
}

// While git holds its index lock, a save waits; the batch closes once the
// lock is gone. A stale lock (older than MaxWait) is ignored.
func TestWatcher_GitIndexLockHoldsBatch(t *testing.T) {
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, ".git"), 0o755))
	a, b := filepath.Join(root, "a.go"), filepath.Join(root, "b.go")
	writeFile(t, a, "old")
	writeFile(t, b, "old")
	lock := filepath.Join(root, ".git", "index.lock")
	writeFile(t, lock, "")
	w := startWatcher(t, Options{Root: root, Paths: []string{root}, MaxWait: time.Minute})
	waitHashed(t, w)
	writeFile(t, a, "new")
	noBatch(t, w) // the default 15 ms debounce is long past
	writeFile(t, b, "new")
	must(t, os.Remove(lock))
	if got, want := fmt.Sprint(nextBatch(t, w).Changes), fmt.Sprint([]Change{{a, Write}, {b, Write}}); got != want {
		t.Fatalf("changes = %s, want %s", got, want)
	}

	writeFile(t, lock, "")
	old := time.Now().Add(-2 * time.Minute)
	must(t, os.Chtimes(lock, old, old))
	writeFile(t, a, "newer")
	if got, want := fmt.Sprint(nextBatch(t, w).Changes), fmt.Sprint([]Change{{a, Write}}); got != want {
		t.Fatalf("with a stale lock: changes = %s, want %s", got, want)
	}
}

func TestFindGitLock(t *testing.T) {
	repo := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(repo, ".git"), 0o755))
	must(t, os.MkdirAll(filepath.Join(repo, "svc", "api"), 0o755))
	if got, want := findGitLock(filepath.Join(repo, "svc", "api")), filepath.Join(repo, ".git", "index.lock"); got != want {
		t.Errorf("in a subdirectory: %q, want %q", got, want)
	}
	wt := t.TempDir()
	writeFile(t, filepath.Join(wt, ".git"), "gitdir: "+filepath.Join(repo, ".git", "worktrees", "wt")+"\n")
	if got, want := findGitLock(wt), filepath.Join(repo, ".git", "worktrees", "wt", "index.lock"); got != want {
		t.Errorf("in a worktree: %q, want %q", got, want)
	}
	sub := t.TempDir()
	writeFile(t, filepath.Join(sub, ".git"), "gitdir: ../.git/modules/sub\n")
	if got, want := findGitLock(sub), filepath.Join(filepath.Dir(sub), ".git", "modules", "sub", "index.lock"); got != want {
		t.Errorf("in a submodule: %q, want %q", got, want)
	}
}

// A real git checkout rewriting 10,000 files is one batch at the default
// debounce, however long git pauses between files: its index lock holds the
// batch until the checkout is done.
func TestWatcher_GitCheckout10000FilesOneBatch(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	root := t.TempDir()
	git := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = root
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// Two branches that differ in every one of 10,000 files, made with
	// fast-import (one pack, not 20,000 loose objects).
	const n = 10000
	var stream strings.Builder
	var want []Change
	for _, br := range []string{"one", "two"} {
		fmt.Fprintf(&stream, "commit refs/heads/%s\ncommitter loop <loop@example.com> 0 +0000\ndata 3\n%s\n", br, br)
		if br == "two" {
			stream.WriteString("from refs/heads/one\n")
		}
		for i := range n {
			name := fmt.Sprintf("d%d/f%05d.go", i%10, i)
			content := br + " " + name + "\n"
			fmt.Fprintf(&stream, "M 100644 inline %s\ndata %d\n%s\n", name, len(content), content)
			if br == "two" {
				want = append(want, Change{filepath.Join(root, filepath.FromSlash(name)), Write})
			}
		}
	}
	git("", "init", "-q", "-b", "one")
	git(stream.String(), "fast-import", "--quiet")
	git("", "reset", "-q", "--hard")

	w := startWatcher(t, Options{Root: root, Paths: []string{root}, MaxWait: 5 * time.Minute})
	waitHashed(t, w)
	git("", "checkout", "-q", "two")
	b := nextBatch(t, w)
	slices.SortFunc(want, func(a, b Change) int { return cmpString(a.Path, b.Path) })
	if fmt.Sprint(b.Changes) != fmt.Sprint(want) {
		t.Fatalf("batch has %d changes, want the checkout's %d writes in one batch", len(b.Changes), len(want))
	}
	noBatch(t, w)
}
