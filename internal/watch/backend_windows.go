package watch

// SystemBackend is fsnotify's ReadDirectoryChangesW backend: one
// directory handle and buffer per watched directory; Windows sets no
// per-user limit on them.
func SystemBackend() Backend {
	return Backend{Name: "ReadDirectoryChangesW", Cost: "one directory handle per watched directory"}
}
