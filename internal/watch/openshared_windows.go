//go:build windows

package watch

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// openShared opens p for reading like os.Open, but with FILE_SHARE_DELETE,
// which os.Open leaves out on Windows: while loop hashes a file or lists a
// directory, an editor or git may still rename it away or delete it (with
// os.Open that fails with a sharing violation). A rename over a file that is
// open still fails through MoveFileEx whatever the sharing (it is allowed
// only with POSIX rename semantics), so the hasher keeps a file open only
// while it reads it.
func openShared(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(longPath(p))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	// FILE_FLAG_BACKUP_SEMANTICS opens directories too, as os.Open does.
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
}

// longPath gives an absolute path of MAX_PATH or more the \\?\ prefix, as
// os.Open does, so deep trees open without the system's long-path opt-in.
// The Watcher's paths are clean, as the prefix requires.
func longPath(p string) string {
	const maxDir = 248 // MAX_PATH less room for an 8.3 file name
	switch {
	case len(p) < maxDir || !filepath.IsAbs(p) || strings.HasPrefix(p, `\\?\`):
		return p
	case strings.HasPrefix(p, `\\`): // \\server\share\...
		return `\\?\UNC\` + p[2:]
	}
	return `\\?\` + p
}
