//go:build !darwin && !linux

package watch

// openSource opens fsnotify, the platform's only backend.
func (w *Watcher) openSource() (source, error) { return newNotifySource() }
