//go:build linux

package containerd

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// withDirLock runs fn(dir) with dir made (with perm) and flocked, the way
// nerdctl locks its stores and the CNI conf dir: loopds and nerdctl that
// change the same store take turns. what names dir in errors.
func withDirLock(dir string, perm os.FileMode, what string, fn func(dir string) error) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer d.Close()
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s %s: %w", what, dir, err)
	}
	defer unix.Flock(int(d.Fd()), unix.LOCK_UN)
	return fn(dir)
}
