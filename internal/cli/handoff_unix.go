//go:build unix

package cli

import (
	"fmt"
	"os"
	"syscall"
)

// execCLI replaces this process with bin run as argv: the command keeps
// its pid, its stdio and its signals, and its exit code is loop's.
func execCLI(bin string, argv []string) error {
	err := syscall.Exec(bin, argv, os.Environ())
	return fmt.Errorf("run %s as %s: %w", bin, argv[0], err)
}
