//go:build !unix

package loopfile

import (
	"os"
	"os/exec"
)

// killGroup is a no-op where process groups are not available; the
// command itself is still killed on cancellation.
func killGroup(*exec.Cmd) {}

// openRegular opens path; where there are no FIFOs that block in open,
// a plain open is enough. The caller checks that the file is regular.
func openRegular(path string) (*os.File, error) { return os.Open(path) }
