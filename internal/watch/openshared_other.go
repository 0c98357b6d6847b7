//go:build !windows

package watch

import "os"

// openShared opens p for reading. On Unix an open file never stands in the
// way of a rename or an unlink; see openshared_windows.go.
func openShared(p string) (*os.File, error) { return os.Open(p) }
