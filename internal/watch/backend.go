package watch

// Backend describes the file watcher this platform runs, for `loop
// doctor`: what it is, what one watch costs, and the system limits that
// bound how large a tree it can watch.
type Backend struct {
	Name   string  // "inotify", "FSEvents", "kqueue", "ReadDirectoryChangesW"
	Cost   string  // what the kernel holds per watched thing
	Limits []Limit // none where the system sets no limit
}

// Limit is one system limit on the watcher.
type Limit struct {
	Name  string // e.g. fs.inotify.max_user_watches
	Value int    // -1 when it could not be read
	Err   error  // why it could not be read
	Min   int    // below this, a large project runs out
	Fix   string // the command that raises it
}

// Low reports whether the limit is known and below Min.
func (l Limit) Low() bool { return l.Err == nil && l.Value < l.Min }
