//go:build unix

package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// processRunning reports whether pid is a live process (a zombie, which
// has exited and waits to be reaped, is not).
func processRunning(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err) // no /proc (not Linux): kill(0) said it exists
	}
	// pid (comm) STATE ...: comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}
