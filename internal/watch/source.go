package watch

import "github.com/fsnotify/fsnotify"

// source is where the Watcher's events come from. Its events and errors use
// fsnotify's types on every platform; fsnotify.ErrEventOverflow on Errors
// means events were lost, and the Watcher rescans.
type source interface {
	Add(dir string) error    // watch dir (not its subdirectories)
	Remove(dir string) error // stop watching dir; it may be gone already
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
	Name() string // the backend, as SystemBackend names it
}

// treeSource is a source that streams whole trees from roots fixed when it
// was opened (FSEvents). Add and Remove under a root do nothing. Its events
// are coalesced hints rather than a log, so the Watcher compares a known
// directory named by an event with the disk instead of trusting the event's
// op.
type treeSource interface {
	source
	streamsTrees()
}

// notifySource is fsnotify: inotify on Linux, ReadDirectoryChangesW on
// Windows, kqueue on macOS (when FSEvents is unavailable) and BSD. It holds
// one watch per directory added.
type notifySource struct{ fsw *fsnotify.Watcher }

var _ source = (*notifySource)(nil)

func newNotifySource() (*notifySource, error) {
	fsw, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		return nil, err
	}
	return &notifySource{fsw: fsw}, nil
}

func (s *notifySource) Add(dir string) error          { return s.fsw.Add(dir) }
func (s *notifySource) Remove(dir string) error       { return s.fsw.Remove(dir) }
func (s *notifySource) Events() <-chan fsnotify.Event { return s.fsw.Events }
func (s *notifySource) Errors() <-chan error          { return s.fsw.Errors }
func (s *notifySource) Close() error                  { return s.fsw.Close() }
func (s *notifySource) Name() string                  { return notifyName }

// The two events fsnotify has no portable name for, which the Linux source
// adds to fsnotify's Op bits (fsnotify's own use the low bits).
const (
	// opCloseWrite: a file opened for writing was closed, so its writer
	// is done with it (IN_CLOSE_WRITE).
	opCloseWrite fsnotify.Op = 1 << 30
	// opMovedTo: the Create is a rename into the directory (IN_MOVED_TO):
	// the file arrived whole, no close follows.
	opMovedTo fsnotify.Op = 1 << 31
)

// closeWriter is a source that reports opCloseWrite and opMovedTo.
type closeWriter interface{ reportsCloseWrite() }
