// Package watch turns file-system activity under a project into batches of
// changed paths for the engine.
//
// The model: Run walks every watched path once, pruning ignored directories
// (.gitignore and .loopignore files at every level, watch_settings patterns,
// .git and editor temp files, and the Interest callback) before watching a
// directory, so an ignored node_modules costs neither a watch nor a walk.
// How a directory is watched depends on the platform's backend (see
// SystemBackend): an inotify watch on Linux, a ReadDirectoryChangesW handle
// on Windows, kqueue descriptors on BSD. On macOS one FSEvents stream covers
// each watched tree (kqueue, which holds a descriptor per file, is the
// fallback); it reports ignored directories too, and their events are dropped
// by one map lookup (their directory is not in the index) before any stat.
// The walk fills an index (directory -> file name -> size, mtime, content
// hash); hashes are filled in the background after Ready. Events only mark
// paths as pending; when a batch closes each pending path is compared once
// with the index, so a burst becomes one batch, an atomic save (temp file +
// rename) is one change of the target, and a write that leaves the content
// unchanged is no change at all.
//
// When a batch closes: a lone save (one file the index knows, rewritten in
// place or replaced by a rename, its temp files gone) closes at once when
// its writer is done — on Linux the source reports the close of a file
// written (IN_CLOSE_WRITE) and renames into place, so a lone save costs no
// wait; elsewhere after Settle (1 ms) of quiet. Anything else (new or
// removed files, directories, several files, and a batch opened less than
// Debounce after a lone save: the same writer going on) closes after
// Debounce of quiet, so a burst is at most two batches. While git holds its
// index lock (a checkout, merge or stash in progress) nothing closes: the
// whole operation is one batch. MaxWait after its first event a batch
// closes whatever is happening. When the kernel queue overflows (or FSEvents drops events), the watched trees are rescanned
// against the index and the differences are reported, so nothing is lost.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configures a Watcher.
type Options struct {
	Root     string                             // project root: .gitignore/.loopignore files are read from Root down
	Paths    []string                           // absolute files or directories to watch (directories recursively)
	Ignore   []string                           // extra gitignore-style patterns relative to Root (watch_settings(ignore=))
	Interest func(path string, isDir bool) bool // optional: false prunes a path (a directory is neither watched nor walked); nil = everything
	Debounce time.Duration                      // quiet period ending a batch (0 = 15ms)
	Settle   time.Duration                      // quiet period ending a batch that is one lone save (0 = 1ms; at most Debounce)
	MaxWait  time.Duration                      // a batch is delivered at most this long after its first change (0 = 2s)
	Logger   *slog.Logger
}

// Op is what happened to a path over a batch.
type Op uint8

// A rename is reported as Remove of the old path and Create of the new one.
const (
	Create Op = iota + 1
	Write
	Remove
)

func (op Op) String() string {
	switch op {
	case Create:
		return "create"
	case Write:
		return "write"
	case Remove:
		return "remove"
	}
	return fmt.Sprintf("Op(%d)", uint8(op))
}

// Change is the net change of one absolute path over a batch.
type Change struct {
	Path string
	Op   Op
}

// Batch is a set of changes with one entry per path, sorted by path. Start is
// the time of its first event, End the time it was closed for delivery.
type Batch struct {
	Changes    []Change
	Start, End time.Time
}

const (
	defaultDebounce = 15 * time.Millisecond
	defaultSettle   = time.Millisecond
	// loneMax bounds the pending paths of a batch that may be a lone save:
	// the target and the temp or backup files of an atomic save.
	loneMax        = 4
	defaultMaxWait = 2 * time.Second
	eventBuffer    = 8192 // events buffered in user space, on top of the kernel queue
)

// Watcher watches a set of paths and delivers change batches.
type Watcher struct {
	opts     Options
	log      *slog.Logger
	extra    []pattern // Options.Ignore, parsed
	ready    chan struct{}
	out      chan Batch
	hashed   chan struct{} // closed when the background hashing is done
	watches  atomic.Int64
	flushReq chan chan Batch
	backend  string // the source's name; written by Run before Ready is closed

	// addWatch adds an inotify watch; a seam for tests.
	addWatch func(dir string) error
	// newSource opens the event source (nil: the platform's openSource); a
	// seam for tests.
	newSource func() (source, error)

	// Everything below is owned by the goroutine running Run (the event
	// loop, which also owns the batch timer); it needs no lock.
	src         source
	tree        bool                // src is a treeSource: events are hints, see handle
	closeWrites bool                // src reports opCloseWrite and opMovedTo (Linux)
	dirs        map[string]*dirNode // watched directory -> its index
	pending     map[string]pendState
	rulesDirty  map[string]bool // directories whose ignore files changed in this batch
	overflow    bool            // events were lost: rescan before closing the batch
	batchStart  time.Time       // first event of the open batch; zero when none
	lastEvent   time.Time
	timer       *time.Timer
	timerAt     time.Time // when timer fires; zero when stopped
	loneAt      time.Time // when the last lone save closed
	gitLock     string    // the repository's index.lock above Root; "" outside git
	queued      *Batch    // closed batch not yet taken by the consumer
	walkStart   time.Time
	hashBuf     []byte
	barrier     barrier // Flush's sentinel directory and waiting callers
}

// New checks opts and returns a Watcher; Run starts it.
func New(opts Options) (*Watcher, error) {
	if !filepath.IsAbs(opts.Root) {
		return nil, fmt.Errorf("watch: root %q is not an absolute path", opts.Root)
	}
	opts.Root = filepath.Clean(opts.Root)
	paths := make([]string, 0, len(opts.Paths))
	for _, p := range opts.Paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("watch: path %q is not absolute", p)
		}
		paths = append(paths, filepath.Clean(p))
	}
	opts.Paths = paths
	if opts.Debounce <= 0 {
		opts.Debounce = defaultDebounce
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = defaultMaxWait
	}
	if opts.Settle <= 0 {
		opts.Settle = defaultSettle
	}
	opts.Settle = min(opts.Settle, opts.Debounce)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		opts:       opts,
		log:        opts.Logger.With("component", "watch"),
		extra:      parsePatterns(opts.Ignore),
		ready:      make(chan struct{}),
		hashed:     make(chan struct{}),
		out:        make(chan Batch),
		dirs:       make(map[string]*dirNode),
		pending:    make(map[string]pendState),
		rulesDirty: make(map[string]bool),
		hashBuf:    make([]byte, 64<<10),
		flushReq:   make(chan chan Batch),
		gitLock:    findGitLock(opts.Root),
	}
	return w, nil
}

// Ready is closed once every initial watch is in place.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Batches delivers change batches; it is closed when Run returns.
func (w *Watcher) Batches() <-chan Batch { return w.out }

// WatchCount is the number of directories currently watched: inotify
// watches on Linux; under FSEvents, the directories indexed below its
// streams' roots.
func (w *Watcher) WatchCount() int { return int(w.watches.Load()) }

// Backend names the backend the Watcher runs ("inotify", "FSEvents",
// "kqueue", "ReadDirectoryChangesW"); "" before Ready is closed.
func (w *Watcher) Backend() string {
	select {
	case <-w.ready:
		return w.backend
	default:
		return ""
	}
}

// Run walks the watched paths, adds the watches, closes Ready and then
// delivers batches until ctx ends (it then returns nil) or an error stops it
// (a *LimitError when an inotify limit is reached). Run must be called once.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.out)
	w.barrier.init(w.log)
	defer w.barrier.stop()
	open := w.newSource
	if open == nil {
		open = w.openSource
	}
	src, err := open()
	if err != nil {
		return fmt.Errorf("watch: start %s: %w", notifyName, limitError(err, ""))
	}
	w.src, w.backend = src, src.Name()
	_, w.tree = src.(treeSource)
	_, w.closeWrites = src.(closeWriter)
	defer src.Close()
	w.barrier.watch(src)
	if w.addWatch == nil {
		w.addWatch = src.Add
	}

	start := time.Now()
	w.walkStart = start
	if err := w.addPaths(); err != nil {
		return err
	}
	files := 0
	for _, n := range w.dirs {
		files += len(n.files)
	}
	close(w.ready)
	w.log.Info("watching", "dirs", len(w.dirs), "files", files, "took", time.Since(start), "backend", w.backend)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	results := make(chan hashResult)
	jobs := w.hashJobs()
	wg.Add(1)
	go func() {
		defer wg.Done()
		hashInBackground(ctx, jobs, results)
	}()

	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	defer w.timer.Stop()
	events, errs := src.Events(), src.Errors()
	for {
		var out chan Batch
		var next Batch
		if w.queued != nil {
			out, next = w.out, *w.queued
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("watch: %s closed", w.backend)
			}
			if err := w.handle(ev); err != nil {
				return err
			}
			if err := w.saveDone(ev); err != nil {
				return err
			}
		case err, ok := <-errs:
			if !ok {
				return fmt.Errorf("watch: %s closed", w.backend)
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn(w.backend+" queue overflow: rescanning", "err", err)
				w.overflow = true
				w.touch(time.Now())
				continue
			}
			w.log.Warn(w.backend+" error", "err", err)
		case <-w.timer.C:
			w.timerAt = time.Time{}
			if err := w.onTimer(time.Now()); err != nil {
				return err
			}
		case req := <-w.flushReq:
			w.barrier.request(req)
		case res, ok := <-results:
			if !ok {
				results = nil
				close(w.hashed)
				continue
			}
			w.applyHashes(res)
		case out <- next:
			w.queued = nil
		}
	}
}

// touch records an event at now, opening a batch if none is open. While a
// batch is small enough to be a lone save, the timer is brought forward to
// Settle after this event; a larger batch waits for its Debounce deadline,
// so a burst costs no timer resets.
func (w *Watcher) touch(now time.Time) {
	w.lastEvent = now
	if w.batchStart.IsZero() {
		w.batchStart = now
		w.arm(now, now.Add(w.opts.Settle))
		return
	}
	if w.mayBeLone() {
		if at := now.Add(w.opts.Settle); w.timerAt.IsZero() || at.Before(w.timerAt) {
			w.arm(now, at)
		}
	}
}

func (w *Watcher) arm(now, at time.Time) {
	w.timerAt = at
	w.timer.Reset(at.Sub(now))
}

// onTimer closes the open batch when it is a lone save quiet for Settle,
// quiet for Debounce, or open for MaxWait; while git holds its index lock
// only MaxWait closes it. Otherwise it re-arms the timer.
func (w *Watcher) onTimer(now time.Time) error {
	if w.batchStart.IsZero() {
		return nil
	}
	limit := w.batchStart.Add(w.opts.MaxWait)
	if !now.Before(limit) {
		return w.flush()
	}
	quiet := now.Sub(w.lastEvent)
	if quiet >= w.opts.Settle && w.mayBeLone() {
		if closed, err := w.closeLone(now); closed || err != nil {
			return err
		}
	}
	deadline := w.lastEvent.Add(w.opts.Debounce)
	if !now.Before(deadline) {
		if !w.gitBusy(now) {
			return w.flush()
		}
		deadline = now.Add(w.opts.Debounce) // look again: git's lock file is not watched
	}
	if quiet < w.opts.Settle && w.mayBeLone() {
		deadline = w.lastEvent.Add(w.opts.Settle)
	}
	if limit.Before(deadline) {
		deadline = limit
	}
	w.arm(now, deadline)
	return nil
}

// handle records one event; directories are watched (or dropped) right away
// so that nothing created inside them is missed. Events under a directory
// that is not in the index (ignored, like node_modules, or outside the
// watched paths) are dropped by the lookup of their directory, before any
// stat: a tree source (FSEvents) reports them all.
func (w *Watcher) handle(ev fsnotify.Event) error {
	if w.barrier.owns(ev.Name) {
		return w.barrier.reached(ev, w)
	}
	if ev.Op&opCloseWrite != 0 {
		w.closed(ev.Name)
	}
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return nil // Chmod only: touch, chmod; content is unchanged
	}
	p := ev.Name
	if w.tree && w.dirs[p] != nil {
		return w.recheckDir(p)
	}
	dir, name := filepath.Dir(p), filepath.Base(p)
	node := w.dirs[dir]
	if node == nil {
		// A watched top directory itself was removed or moved away.
		if w.dirs[p] != nil && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
			w.removeTree(p, true)
			w.touch(time.Now())
		}
		return nil
	}
	if (node.only != nil && !node.only[name]) || builtinIgnored(name) {
		return nil
	}
	if name == gitignoreName || name == loopignoreName {
		w.rulesDirty[dir] = true
		w.touch(time.Now())
	}
	if w.dirs[p] != nil && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Create)) {
		// Gone, moved away, or replaced by another directory: drop the old
		// watches; a directory that is there now is walked again below.
		w.removeTree(p, true)
		w.touch(time.Now())
	}
	_, wasFile := node.files[name]
	if ev.Has(fsnotify.Create) {
		fi, err := os.Lstat(p)
		if err == nil && fi.IsDir() && node.only == nil {
			if w.excluded(node.rules, p, true) {
				return nil
			}
			w.mark(p, pendState{})
			node.addSubdir(name)
			w.touch(time.Now())
			return w.walkDir(p, nil, node.rules, walkReport)
		}
	}
	if node.only == nil && !wasFile && w.excluded(node.rules, p, false) {
		return nil
	}
	w.mark(p, pendState{wasFile: wasFile})
	w.note(p, ev)
	w.touch(time.Now())
	return nil
}

// recheckDir handles a tree source's event on a directory in the index.
// FSEvents' flags are coalesced hints (a directory created a moment ago may
// still say "created"), so the directory is compared with the index rather
// than dropped and walked again: a directory still there is rescanned (a
// directory moved over it reports no events for its contents, the rescan
// finds them), one that is gone or replaced by a file is removed.
func (w *Watcher) recheckDir(p string) error {
	w.touch(time.Now())
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return w.rescan(p, false)
	}
	w.removeTree(p, true)
	return nil
}

// excluded reports whether p is ignored by rules or of no interest.
func (w *Watcher) excluded(rules *ruleSet, p string, isDir bool) bool {
	if rules.ignoredPath(p, isDir) {
		return true
	}
	return w.opts.Interest != nil && !w.opts.Interest(p, isDir)
}

// mark adds p to the open batch, keeping what was known of p before the
// batch's first event for it.
func (w *Watcher) mark(p string, st pendState) {
	if _, ok := w.pending[p]; !ok {
		w.pending[p] = st
	}
}

// flush closes the open batch: it applies ignore-file changes and overflow
// rescans, resolves every pending path against the index and queues the
// result for delivery, merged with an undelivered batch if there is one.
func (w *Watcher) flush() error {
	start := w.batchStart
	w.batchStart = time.Time{}
	for dir := range w.rulesDirty {
		if err := w.rescan(dir, true); err != nil {
			return err
		}
	}
	clear(w.rulesDirty)
	if w.overflow {
		w.overflow = false
		for _, top := range w.topDirs() {
			if err := w.rescan(top, false); err != nil {
				return err
			}
		}
	}
	changes := make([]Change, 0, len(w.pending))
	for p, st := range w.pending {
		if op, ok := w.resolve(p, st); ok {
			changes = append(changes, Change{Path: p, Op: op})
		}
	}
	if len(w.pending) > 4096 {
		w.pending = make(map[string]pendState)
	} else {
		clear(w.pending)
	}
	now := time.Now()
	if w.queued != nil {
		w.queued.Changes = mergeChanges(w.queued.Changes, changes)
		w.queued.End = now
		if len(w.queued.Changes) == 0 {
			w.queued = nil
		}
		return nil
	}
	if len(changes) == 0 {
		return nil
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	w.queued = &Batch{Changes: changes, Start: start, End: now}
	return nil
}

// topDirs lists the watched directories whose parent is not watched.
func (w *Watcher) topDirs() []string {
	var tops []string
	for dir := range w.dirs {
		if w.dirs[filepath.Dir(dir)] == nil || dir == filepath.Dir(dir) {
			tops = append(tops, dir)
		}
	}
	sort.Strings(tops)
	return tops
}
