package watch

// notifyName is the backend fsnotify runs here.
const notifyName = "ReadDirectoryChangesW"

// notifyBackend is fsnotify's backend, which SystemBackend reports.
func notifyBackend() Backend { return SystemBackend() }

// SystemBackend is fsnotify's ReadDirectoryChangesW backend: one
// directory handle and buffer per watched directory; Windows sets no
// per-user limit on them.
func SystemBackend() Backend {
	return Backend{Name: "ReadDirectoryChangesW", Cost: "one directory handle per watched directory"}
}
