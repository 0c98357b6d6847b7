//go:build unix

package sync

// The Unix primitives of confine.go: raw descriptors and *at system calls.
// Raw on purpose: an os.File costs an extra fstat and a finalizer per file,
// a third of the time in a 10,000-file burst.

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirHandle is an open directory descriptor.
type dirHandle int

// openRoot opens the directory at real, a path with its symlinks resolved.
func openRoot(real string) (dirHandle, error) {
	fd, err := openat(unix.AT_FDCWD, real, unix.O_RDONLY|unix.O_DIRECTORY)
	return dirHandle(fd), err
}

// openSubdir opens the directory name in parent, never through a symlink:
// a symlink is an error that does not wrap fs.ErrNotExist.
func openSubdir(parent dirHandle, name string) (dirHandle, error) {
	fd, err := openat(int(parent), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	return dirHandle(fd), err
}

func closeDir(d dirHandle) {
	unix.Close(int(d))
}

// readlinkIn reads the target of the symlink name in d.
func readlinkIn(d dirHandle, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(d), name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// hostFile is a host file open for reading.
type hostFile int

// openIn opens the file name in d for reading, never through a symlink and
// without blocking on a fifo.
func openIn(d dirHandle, name string) (hostFile, error) {
	fd, err := openat(int(d), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
	return hostFile(fd), err
}

// stat returns the size of f and whether it is a regular file.
func (f hostFile) stat() (size int64, regular bool, err error) {
	var sys syscall.Stat_t
	if err := syscall.Fstat(int(f), &sys); err != nil {
		return 0, false, err
	}
	return sys.Size, uint32(sys.Mode)&syscall.S_IFMT == syscall.S_IFREG, nil
}

// read reads into b as io.Reader does: io.EOF at the end.
func (f hostFile) read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(f), b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f hostFile) close() {
	syscall.Close(int(f))
}

func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
