//go:build unix

package sync

import "io/fs"

// localMode is the mode a host entry is synced with: its own.
func localMode(m fs.FileMode) fs.FileMode { return m }
