package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// inotifyMask is what loop asks of each watched directory: fsnotify's
// default events without IN_ATTRIB (a touch or chmod changes no content),
// plus IN_CLOSE_WRITE, which tells when a writer is done. fsnotify reads
// close-writes too but does not export them (v1.10), hence this source.
const inotifyMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_DELETE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// inotifySource is the Linux source: one inotify instance, one watch per
// directory, events in fsnotify's types with opCloseWrite and opMovedTo.
// Its reader goroutine blocks in Go's poller (the descriptor is
// non-blocking), so Close wakes it.
type inotifySource struct {
	file   *os.File
	fd     int
	events chan fsnotify.Event
	errs   chan error
	done   chan struct{}

	mu    sync.Mutex
	paths map[int]string // watch descriptor -> directory
	wds   map[string]int // directory -> watch descriptor
}

var _ source = (*inotifySource)(nil)

func (s *inotifySource) reportsCloseWrite() {}

func newInotifySource() (*inotifySource, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	s := &inotifySource{
		file:   os.NewFile(uintptr(fd), "inotify"),
		fd:     fd,
		events: make(chan fsnotify.Event, eventBuffer),
		errs:   make(chan error, 1),
		done:   make(chan struct{}),
		paths:  make(map[int]string),
		wds:    make(map[string]int),
	}
	go s.read()
	return s, nil
}

func (s *inotifySource) Add(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := unix.InotifyAddWatch(s.fd, dir, inotifyMask)
	if err != nil {
		return &os.PathError{Op: "inotify_add_watch", Path: dir, Err: err}
	}
	if old, ok := s.paths[wd]; ok && old != dir {
		delete(s.wds, old) // the same directory under another name
	}
	s.paths[wd], s.wds[dir] = dir, wd
	return nil
}

func (s *inotifySource) Remove(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	wd, ok := s.wds[dir]
	if !ok {
		return nil
	}
	delete(s.wds, dir)
	delete(s.paths, wd)
	// EINVAL: the kernel dropped the watch already (the directory is gone).
	if _, err := unix.InotifyRmWatch(s.fd, uint32(wd)); err != nil && !errors.Is(err, unix.EINVAL) {
		return &os.PathError{Op: "inotify_rm_watch", Path: dir, Err: err}
	}
	return nil
}

func (s *inotifySource) Events() <-chan fsnotify.Event { return s.events }
func (s *inotifySource) Errors() <-chan error          { return s.errs }
func (s *inotifySource) Name() string                  { return notifyName }

func (s *inotifySource) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	return s.file.Close() // wakes read
}

// read turns the kernel's events into fsnotify events until Close.
func (s *inotifySource) read() {
	defer close(s.events)
	var buf [64 << 10]byte
	for {
		n, err := s.file.Read(buf[:])
		switch {
		case errors.Is(err, os.ErrClosed):
			return
		case err == nil && n < unix.SizeofInotifyEvent:
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			if !s.sendErr(fmt.Errorf("read inotify: %w", err)) {
				return
			}
			continue
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			raw := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameLen := int(raw.Len)
			if off+unix.SizeofInotifyEvent+nameLen > n {
				break // the kernel never splits an event; do not trust it to
			}
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+nameLen]
			off += unix.SizeofInotifyEvent + nameLen
			if raw.Mask&unix.IN_Q_OVERFLOW != 0 {
				if !s.sendErr(fsnotify.ErrEventOverflow) {
					return
				}
				continue
			}
			ev, ok := s.event(int(raw.Wd), raw.Mask, trimNul(name))
			if !ok {
				continue
			}
			select {
			case s.events <- ev:
			case <-s.done:
				return
			}
		}
	}
}

// event translates one kernel event; ok is false for events loop drops.
func (s *inotifySource) event(wd int, mask uint32, name []byte) (ev fsnotify.Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, known := s.paths[wd]
	if !known {
		return ev, false // removed meanwhile
	}
	if mask&(unix.IN_IGNORED|unix.IN_UNMOUNT) != 0 {
		s.forget(wd, dir)
		return ev, false
	}
	if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
		s.forget(wd, dir)
		if mask&unix.IN_MOVE_SELF != 0 {
			unix.InotifyRmWatch(s.fd, uint32(wd)) // it watches the moved directory under its old name
		}
		if _, parent := s.wds[filepath.Dir(dir)]; parent {
			return ev, false // the parent's watch reports it
		}
	}
	ev.Name = dir
	if len(name) > 0 {
		ev.Name = dir + "/" + string(name)
	}
	if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		ev.Op |= fsnotify.Create
	}
	if mask&unix.IN_MOVED_TO != 0 {
		ev.Op |= opMovedTo
	}
	if mask&(unix.IN_DELETE|unix.IN_DELETE_SELF) != 0 {
		ev.Op |= fsnotify.Remove
	}
	if mask&unix.IN_MODIFY != 0 {
		ev.Op |= fsnotify.Write
	}
	if mask&unix.IN_CLOSE_WRITE != 0 {
		ev.Op |= opCloseWrite
	}
	if mask&(unix.IN_MOVED_FROM|unix.IN_MOVE_SELF) != 0 {
		ev.Op |= fsnotify.Rename
	}
	return ev, true
}

// forget drops a watch the kernel has ended.
func (s *inotifySource) forget(wd int, dir string) {
	delete(s.paths, wd)
	if s.wds[dir] == wd {
		delete(s.wds, dir)
	}
}

func (s *inotifySource) sendErr(err error) bool {
	select {
	case s.errs <- err:
		return true
	case <-s.done:
		return false
	}
}

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
