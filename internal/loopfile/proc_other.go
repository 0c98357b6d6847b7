//go:build !unix

package loopfile

import "os/exec"

// killGroup is a no-op where process groups are not available; the
// command itself is still killed on cancellation.
func killGroup(*exec.Cmd) {}
