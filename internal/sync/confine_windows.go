package sync

// The Windows primitives of confine.go, on os.Root: a Root refuses every
// name that leaves it (through "..", an absolute symlink target, or a link
// or junction pointing outside), which is the property confinement rests
// on. On top of that, a directory or file is Lstat'ed through its parent
// Root before it is opened, and a symlink or other reparse point (a
// junction: fs.ModeIrregular) is refused, the same rule as O_NOFOLLOW on
// Unix.
//
// The remaining difference from Unix: Lstat and Open are two calls, and
// os.Root follows symlinks, so a directory or file swapped for a link
// between them is followed. The link's target is still resolved by os.Root
// and can never leave the project root: a race can make the sync read
// another file of the project, never one outside it.

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// errReparse refuses a symlink or another reparse point where a directory
// or a file is opened; it does not wrap fs.ErrNotExist, so confined.dir
// resolves the path instead.
var errReparse = errors.New("symlink or reparse point: not followed")

// dirHandle is an open directory.
type dirHandle = *os.Root

// openRoot opens the directory at real, a path with its symlinks resolved.
func openRoot(real string) (dirHandle, error) {
	return os.OpenRoot(real)
}

// openSubdir opens the directory name in parent, never through a symlink
// or junction.
func openSubdir(parent dirHandle, name string) (dirHandle, error) {
	fi, err := parent.Lstat(name)
	if err != nil {
		return nil, bare(err)
	}
	switch t := fi.Mode().Type(); {
	case t&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return nil, errReparse
	case t != fs.ModeDir:
		return nil, errNotDir
	}
	r, err := parent.OpenRoot(name)
	return r, bare(err)
}

func closeDir(d dirHandle) {
	d.Close()
}

// readlinkIn reads the target of the symlink name in d.
func readlinkIn(d dirHandle, name string) (string, error) {
	target, err := d.Readlink(name)
	return target, bare(err)
}

// hostFile is a host file open for reading.
type hostFile struct {
	f *os.File
}

// openIn opens the file name in d for reading, never through a symlink or
// junction. A named pipe cannot be in a directory on Windows: nothing to
// block on.
func openIn(d dirHandle, name string) (hostFile, error) {
	fi, err := d.Lstat(name)
	if err != nil {
		return hostFile{}, bare(err)
	}
	if fi.Mode().Type()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return hostFile{}, errReparse
	}
	f, err := d.Open(name)
	return hostFile{f}, bare(err)
}

// stat returns the size of f and whether it is a regular file.
func (f hostFile) stat() (size int64, regular bool, err error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, false, bare(err)
	}
	return fi.Size(), fi.Mode().IsRegular(), nil
}

// read reads into b as io.Reader does: io.EOF at the end.
func (f hostFile) read(b []byte) (int, error) {
	n, err := f.f.Read(b)
	return n, bare(err)
}

func (f hostFile) close() {
	f.f.Close()
}

// errNotDir is a path component that is not a directory: ENOTDIR, as on
// Unix, so that check takes the file for gone.
var errNotDir error = syscall.ENOTDIR

// bare is err without its *fs.PathError: confine.go names the host path
// itself.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
