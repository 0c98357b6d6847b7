//go:build darwin

package watch

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The macOS half of the FSEvents source: CoreServices, CoreFoundation and
// libdispatch called through purego (release builds have no cgo). The rest
// (flags, paths, delivery) is in fsevents.go.

const (
	coreServicesPath   = "/System/Library/Frameworks/CoreServices.framework/CoreServices"
	coreFoundationPath = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	libSystemPath      = "/usr/lib/libSystem.B.dylib" // re-exports libdispatch

	cfStringEncodingUTF8 = 0x08000100
	fseLatency           = 0.005 // seconds; the Watcher debounces itself
	fseQueueLabel        = "dev.loop.watch.fsevents\x00"
)

// SystemBackend is FSEvents when CoreServices can be loaded: one stream per
// watched root, no descriptor per file, so no open-file limit applies.
// Otherwise it is fsnotify's kqueue (see notifyBackend).
func SystemBackend() Backend {
	if _, err := loadFSEvents(); err != nil {
		return notifyBackend()
	}
	return Backend{Name: "FSEvents", Cost: "one stream per watched root; no per-file descriptors"}
}

// openSource streams the watched trees with FSEvents, or falls back to
// fsnotify's kqueue, with one log line, when FSEvents cannot be loaded or
// its stream cannot be started.
func (w *Watcher) openSource() (source, error) {
	api, err := loadFSEvents()
	if err == nil {
		var s *fseSource
		if s, err = startFSEvents(api, w.treeRoots(w.barrier.dir), w.barrier.dir); err == nil {
			return s, nil
		}
	}
	w.log.Warn("FSEvents unavailable: watching with kqueue, which holds an open file per watched file", "err", err)
	return newNotifySource()
}

// fseContext is FSEventStreamContext; info carries a key of fseStreams.
type fseContext struct {
	version, info, retain, release, copyDescription uintptr
}

// fseAPI holds the C functions the source calls.
type fseAPI struct {
	cfStringCreateWithCString func(alloc uintptr, s string, encoding uint32) uintptr
	cfArrayCreate             func(alloc uintptr, values unsafe.Pointer, n int, callbacks uintptr) uintptr
	cfRelease                 func(ref uintptr)
	cfTypeArrayCallBacks      uintptr // &kCFTypeArrayCallBacks

	streamCreate           func(alloc, callback uintptr, ctx *fseContext, paths uintptr, sinceWhen uint64, latency float64, flags uint32) uintptr
	streamSetDispatchQueue func(stream, queue uintptr)
	streamStart            func(stream uintptr) uint8 // Boolean
	streamStop             func(stream uintptr)
	streamInvalidate       func(stream uintptr)
	streamRelease          func(stream uintptr)

	dispatchQueueCreate func(label string, attr uintptr) uintptr
	dispatchRelease     func(object uintptr)

	callback uintptr // onFSEvents, made once: purego callbacks are never freed
}

var (
	fseOnce    sync.Once
	fseLoaded  *fseAPI
	fseLoadErr error
	fseStreams registry[*fseSource] // context info -> source, for onFSEvents
)

// loadFSEvents binds the frameworks once per process.
func loadFSEvents() (*fseAPI, error) {
	fseOnce.Do(func() { fseLoaded, fseLoadErr = bindFSEvents() })
	return fseLoaded, fseLoadErr
}

func bindFSEvents() (*fseAPI, error) {
	var cf, cs, sys uintptr
	for _, l := range []struct {
		handle *uintptr
		path   string
	}{{&cf, coreFoundationPath}, {&cs, coreServicesPath}, {&sys, libSystemPath}} {
		h, err := purego.Dlopen(l.path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return nil, fmt.Errorf("fsevents: load %s: %w", l.path, err)
		}
		*l.handle = h
	}
	a := &fseAPI{}
	for _, f := range []struct {
		lib  uintptr
		name string
		fptr any
	}{
		{cf, "CFStringCreateWithCString", &a.cfStringCreateWithCString},
		{cf, "CFArrayCreate", &a.cfArrayCreate},
		{cf, "CFRelease", &a.cfRelease},
		{cs, "FSEventStreamCreate", &a.streamCreate},
		{cs, "FSEventStreamSetDispatchQueue", &a.streamSetDispatchQueue},
		{cs, "FSEventStreamStart", &a.streamStart},
		{cs, "FSEventStreamStop", &a.streamStop},
		{cs, "FSEventStreamInvalidate", &a.streamInvalidate},
		{cs, "FSEventStreamRelease", &a.streamRelease},
		{sys, "dispatch_queue_create", &a.dispatchQueueCreate},
		{sys, "dispatch_release", &a.dispatchRelease},
	} {
		sym, err := purego.Dlsym(f.lib, f.name)
		if err != nil {
			return nil, fmt.Errorf("fsevents: %s: %w", f.name, err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	sym, err := purego.Dlsym(cf, "kCFTypeArrayCallBacks")
	if err != nil {
		return nil, fmt.Errorf("fsevents: kCFTypeArrayCallBacks: %w", err)
	}
	a.cfTypeArrayCallBacks = sym
	a.callback = purego.NewCallback(onFSEvents)
	return a, nil
}

// onFSEvents is the FSEventStreamCallback of every stream; it runs on the
// stream's dispatch queue.
func onFSEvents(_, info, n uintptr, paths **byte, flags *uint32, _ *uint64) {
	if s, ok := fseStreams.get(info); ok {
		s.deliver(decodeFSEvents(int(n), paths, flags))
	}
}

// startFSEvents starts one stream of file-level events for roots on a
// serial dispatch queue of its own.
func startFSEvents(a *fseAPI, roots []string, barrier string) (_ *fseSource, err error) {
	if len(roots) == 0 {
		return nil, errors.New("fsevents: no directory to stream")
	}
	s := newFSESource(roots, barrier, filepath.EvalSymlinks)
	key := fseStreams.add(s)
	defer func() {
		if err != nil {
			fseStreams.remove(key)
		}
	}()
	strs := make([]uintptr, 0, len(roots))
	defer func() {
		for _, r := range strs {
			a.cfRelease(r)
		}
	}()
	for _, r := range roots {
		str := a.cfStringCreateWithCString(0, r, cfStringEncodingUTF8)
		if str == 0 {
			return nil, fmt.Errorf("fsevents: CFStringCreateWithCString(%q) failed", r)
		}
		strs = append(strs, str)
	}
	paths := a.cfArrayCreate(0, unsafe.Pointer(&strs[0]), len(strs), a.cfTypeArrayCallBacks)
	if paths == 0 {
		return nil, errors.New("fsevents: CFArrayCreate failed")
	}
	defer a.cfRelease(paths) // the stream keeps its own reference
	ctx := fseContext{info: key}
	stream := a.streamCreate(0, a.callback, &ctx, paths, fseEventIDSinceNow, fseLatency,
		fseCreateFileEvents|fseCreateNoDefer|fseCreateWatchRoot)
	if stream == 0 {
		return nil, fmt.Errorf("fsevents: FSEventStreamCreate(%q) failed", roots)
	}
	queue := a.dispatchQueueCreate(fseQueueLabel, 0)
	if queue == 0 {
		a.streamRelease(stream)
		return nil, errors.New("fsevents: dispatch_queue_create failed")
	}
	a.streamSetDispatchQueue(stream, queue)
	if a.streamStart(stream) == 0 {
		a.streamInvalidate(stream)
		a.streamRelease(stream)
		a.dispatchRelease(queue)
		return nil, fmt.Errorf("fsevents: FSEventStreamStart(%q) failed", roots)
	}
	s.stop = func() {
		a.streamStop(stream)
		a.streamInvalidate(stream)
		a.streamRelease(stream)
		a.dispatchRelease(queue)
		fseStreams.remove(key)
	}
	return s, nil
}
