//go:build unix

// Package fsat changes a directory tree through directory file descriptors
// (the *at system calls): a name is always one component inside an open
// directory, and a symlink is removed or replaced, never followed. The
// in-container supervisor (`__recv`, `__rm`) and containerd's host-side
// extraction share it.
package fsat

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Replace renames tmp over base, both in the directory dirfd, so a reader
// sees the old entry or the new one, never half of one. A directory in the
// way is removed first (a file replaces a directory, as Docker's
// AllowOverwriteDirWithFile does). On failure tmp is removed.
func Replace(dirfd int, tmp, base string) error {
	err := unix.Renameat(dirfd, tmp, dirfd, base)
	if err == unix.EISDIR || err == unix.ENOTEMPTY || err == unix.EEXIST {
		if err = RemoveAll(dirfd, base); err != nil {
			unix.Unlinkat(dirfd, tmp, 0)
			return fmt.Errorf("replace directory: %w", err)
		}
		err = unix.Renameat(dirfd, tmp, dirfd, base)
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}

// RemoveAll removes name in the directory dirfd and, when it is a
// directory, everything below it, never following a symlink. A missing
// name is not an error. Entries created while it removes (a service still
// writing) get one more pass before it gives up with ENOTEMPTY.
func RemoveAll(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	for range 2 {
		names, err := d.Readdirnames(-1)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := RemoveAll(fd, n); err != nil {
				return fmt.Errorf("%s/%s: %w", name, n, err)
			}
		}
		err = unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
		if err != unix.ENOTEMPTY {
			if err == unix.ENOENT {
				return nil
			}
			return err
		}
		if _, err := d.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return unix.ENOTEMPTY
}
