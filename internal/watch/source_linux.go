package watch

// openSource opens loop's own inotify source, which reports close-writes.
func (w *Watcher) openSource() (source, error) { return newInotifySource() }
