//go:build freebsd || netbsd || openbsd || dragonfly

package watch

// SystemBackend is fsnotify's kqueue backend (see notifyBackend).
func SystemBackend() Backend { return notifyBackend() }
