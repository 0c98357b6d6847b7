//go:build unix

package cli

import "syscall"

// exeSuffix ends an executable's file name.
const exeSuffix = ""

// detached starts loopd in a session of its own, so it outlives the
// terminal and its signals.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
