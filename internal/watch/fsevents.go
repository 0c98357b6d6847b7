package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/fsnotify/fsnotify"
)

// This file holds the platform-independent half of the macOS FSEvents
// source (fsevents_darwin.go binds CoreServices): flag translation, path
// spelling, the callback registry and delivery. It builds everywhere so its
// tests run on Linux.

// FSEventStreamCreateFlags and FSEventStreamEventFlags (CoreServices
// FSEvents.h).
const (
	fseCreateNoDefer    uint32 = 0x00000002
	fseCreateWatchRoot  uint32 = 0x00000004
	fseCreateFileEvents uint32 = 0x00000010

	fseMustScanSubDirs   uint32 = 0x00000001
	fseUserDropped       uint32 = 0x00000002
	fseKernelDropped     uint32 = 0x00000004
	fseEventIDsWrapped   uint32 = 0x00000008
	fseHistoryDone       uint32 = 0x00000010
	fseRootChanged       uint32 = 0x00000020
	fseMount             uint32 = 0x00000040
	fseUnmount           uint32 = 0x00000080
	fseItemCreated       uint32 = 0x00000100
	fseItemRemoved       uint32 = 0x00000200
	fseItemInodeMetaMod  uint32 = 0x00000400
	fseItemRenamed       uint32 = 0x00000800
	fseItemModified      uint32 = 0x00001000
	fseItemFinderInfoMod uint32 = 0x00002000
	fseItemChangeOwner   uint32 = 0x00004000
	fseItemXattrMod      uint32 = 0x00008000
	fseItemIsFile        uint32 = 0x00010000
	fseItemIsDir         uint32 = 0x00020000
	fseItemIsSymlink     uint32 = 0x00040000
	fseItemCloned        uint32 = 0x00400000

	fseEventIDSinceNow = ^uint64(0) // kFSEventStreamEventIdSinceNow
)

// fseventOp maps one FSEvents event's flags to fsnotify ops, or to a
// rescan when events were lost or a volume (un)mounted under a root.
//
// FSEvents coalesces: one event can say created, modified and removed, and a
// rename reports both paths with ItemRenamed alone. The ops are therefore
// a union and never an omission: the Watcher stats the path and compares it
// with its index after its cheap filters, so an extra op costs nothing and
// a missing one would lose a change. A rename is Create|Rename (the path may
// be either side: Create makes the Watcher walk a directory moved in); an
// event with no item flags ("something changed at this path") is
// Create|Write. Metadata-only changes are Chmod, which the Watcher ignores
// as it does inotify's.
func fseventOp(flags uint32) (op fsnotify.Op, rescan bool) {
	if flags&(fseMustScanSubDirs|fseUserDropped|fseKernelDropped|fseMount|fseUnmount) != 0 {
		return 0, true
	}
	if flags&fseRootChanged != 0 {
		return fsnotify.Create | fsnotify.Remove, false
	}
	const meta = fseItemInodeMetaMod | fseItemFinderInfoMod | fseItemChangeOwner | fseItemXattrMod
	const item = fseItemCreated | fseItemRemoved | fseItemRenamed | fseItemModified | fseItemCloned | meta
	if flags&item == 0 {
		if flags&(fseHistoryDone|fseEventIDsWrapped) != 0 {
			return 0, false // bookkeeping, no path changed
		}
		return fsnotify.Create | fsnotify.Write, false
	}
	if flags&(fseItemCreated|fseItemCloned) != 0 {
		op |= fsnotify.Create
	}
	if flags&fseItemRemoved != 0 {
		op |= fsnotify.Remove
	}
	if flags&fseItemRenamed != 0 {
		op |= fsnotify.Create | fsnotify.Rename
	}
	if flags&fseItemModified != 0 {
		op |= fsnotify.Write
	}
	if op == 0 {
		op = fsnotify.Chmod
	}
	return op, false
}

// treeRoots lists the directories a tree source must stream for the watched
// paths: each listed directory and the parent of each listed file, without
// those inside another root, and extra (the Flush barrier's directory) when
// it is not "".
func (w *Watcher) treeRoots(extra string) []string {
	var dirs []string
	for _, p := range w.opts.Paths {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			continue // addPaths logs it
		case fi.IsDir():
			dirs = append(dirs, p)
		default:
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	if extra != "" {
		dirs = append(dirs, extra)
	}
	return collapseRoots(dirs)
}

// within reports whether p is root or inside it (both clean and absolute).
func within(root, p string) bool {
	if !strings.HasPrefix(p, root) {
		return false
	}
	return len(p) == len(root) || root[len(root)-1] == filepath.Separator || p[len(root)] == filepath.Separator
}

// collapseRoots sorts dirs and drops duplicates and directories inside
// another one: a stream of a root covers its whole tree.
func collapseRoots(dirs []string) []string {
	dirs = append([]string(nil), dirs...)
	sort.Strings(dirs)
	out := dirs[:0]
	for _, d := range dirs {
		covered := false
		for _, r := range out {
			if within(r, d) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, d)
		}
	}
	return out
}

// rootAlias is a watched root as the Watcher spells it and its real path
// (symlinks resolved), which is how FSEvents spells the paths it reports:
// /private/var/folders/... for a root under /var/folders.
type rootAlias struct{ real, watched string }

// rootMap turns FSEvents paths back into the Watcher's spelling. Longest
// real path first, so a nested alias wins.
type rootMap []rootAlias

// newRootMap resolves each root with resolve (filepath.EvalSymlinks); a
// root that cannot be resolved is taken as spelled.
func newRootMap(roots []string, resolve func(string) (string, error)) rootMap {
	m := make(rootMap, 0, len(roots))
	for _, r := range roots {
		real, err := resolve(r)
		if err != nil {
			real = r
		}
		m = append(m, rootAlias{real: filepath.Clean(real), watched: r})
	}
	sort.SliceStable(m, func(i, j int) bool { return len(m[i].real) > len(m[j].real) })
	return m
}

// watched returns p in the spelling of the root it is under; p unchanged
// when it is under no aliased root.
func (m rootMap) watched(p string) string {
	if len(p) > 1 && p[len(p)-1] == filepath.Separator {
		p = p[:len(p)-1]
	}
	for _, a := range m {
		if !within(a.real, p) {
			continue
		}
		if a.real == a.watched {
			return p
		}
		rest := strings.TrimPrefix(p[len(a.real):], string(filepath.Separator))
		if rest == "" {
			return a.watched
		}
		return join(a.watched, rest)
	}
	return p
}

// covers reports whether dir (in the Watcher's spelling) is streamed.
func (m rootMap) covers(dir string) bool {
	for _, a := range m {
		if within(a.watched, dir) {
			return true
		}
	}
	return false
}

// registry routes C callbacks to Go values by an integer key: C holds the
// key (a stream's context info), never a Go pointer. purego callbacks are a
// limited resource that is never freed, so the process makes one FSEvents
// callback and every stream registers here.
type registry[T any] struct {
	mu   sync.Mutex
	last uintptr
	m    map[uintptr]T
}

// add stores v and returns its key, never 0 (NULL).
func (r *registry[T]) add(v T) uintptr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[uintptr]T)
	}
	r.last++
	r.m[r.last] = v
	return r.last
}

func (r *registry[T]) get(key uintptr) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[key]
	return v, ok
}

func (r *registry[T]) remove(key uintptr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key)
}

// rawEvent is one FSEvents event as the callback received it.
type rawEvent struct {
	path  string
	flags uint32
}

// decodeFSEvents copies a callback's n events out of the C arrays (paths
// as char**: the stream is created without kFSEventStreamCreateFlagUseCFTypes)
// before the framework frees them.
func decodeFSEvents(n int, paths **byte, flags *uint32) []rawEvent {
	if n <= 0 || paths == nil || flags == nil {
		return nil
	}
	ps, fs := unsafe.Slice(paths, n), unsafe.Slice(flags, n)
	out := make([]rawEvent, n)
	for i := range out {
		out[i] = rawEvent{path: cString(ps[i]), flags: fs[i]}
	}
	return out
}

// cString copies the NUL-terminated C string at p.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// errNotStreamed is returned by fseSource.Add for a directory under no root.
var errNotStreamed = errors.New("not under a streamed root")

// fseSource is the FSEvents source: one stream (made by
// fsevents_darwin.go) for all roots, delivering through the process's one
// callback to deliver.
type fseSource struct {
	roots   rootMap
	barrier string // Flush's sentinel directory: its events go last in their callback
	events  chan fsnotify.Event
	errors  chan error
	done    chan struct{} // closed by Close: a blocked delivery gives up
	once    sync.Once
	stop    func() // stops and releases the stream; nil in tests
}

var _ treeSource = (*fseSource)(nil)

func newFSESource(roots []string, barrier string, resolve func(string) (string, error)) *fseSource {
	return &fseSource{
		roots:   newRootMap(roots, resolve),
		barrier: barrier,
		events:  make(chan fsnotify.Event, eventBuffer),
		errors:  make(chan error, 1),
		done:    make(chan struct{}),
	}
}

func (s *fseSource) Add(dir string) error {
	if s.roots.covers(dir) {
		return nil
	}
	return fmt.Errorf("fsevents: %s: %w", dir, errNotStreamed)
}

func (s *fseSource) Remove(string) error           { return nil }
func (s *fseSource) Events() <-chan fsnotify.Event { return s.events }
func (s *fseSource) Errors() <-chan error          { return s.errors }
func (s *fseSource) Name() string                  { return "FSEvents" }
func (s *fseSource) streamsTrees()                 {}

// Close stops the stream. Neither channel is closed: a callback may be
// running until the stream has stopped.
func (s *fseSource) Close() error {
	s.once.Do(func() {
		close(s.done)
		if s.stop != nil {
			s.stop()
		}
	})
	return nil
}

// deliver hands one callback's events to the Watcher, in order, except that
// events in the barrier directory go last: FSEvents reports a coalesced
// path with the ID of its latest change, so a write made before a Flush
// sentinel may be listed after it in the same callback. Lost events become
// one pending fsnotify.ErrEventOverflow. It blocks while the Watcher's
// buffer is full (FSEvents buffers meanwhile, and reports drops) and
// returns early once Close was called.
func (s *fseSource) deliver(batch []rawEvent) {
	var late []fsnotify.Event
	for _, e := range batch {
		op, rescan := fseventOp(e.flags)
		if rescan {
			select {
			case s.errors <- fsnotify.ErrEventOverflow:
			default: // one pending overflow rescans everything
			}
			continue
		}
		if op == 0 {
			continue
		}
		ev := fsnotify.Event{Name: s.roots.watched(e.path), Op: op}
		if s.barrier != "" && filepath.Dir(ev.Name) == s.barrier {
			late = append(late, ev)
			continue
		}
		if !s.send(ev) {
			return
		}
	}
	for _, ev := range late {
		if !s.send(ev) {
			return
		}
	}
}

func (s *fseSource) send(ev fsnotify.Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.done:
		return false
	}
}
