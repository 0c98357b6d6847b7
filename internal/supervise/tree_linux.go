//go:build linux

package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/loopdev/loop/internal/fsat"
)

// tree is the directory `__recv` writes into ("/" in a container, a temp
// dir in tests). Every path is resolved from the root's file descriptor
// one component at a time with O_NOFOLLOW, so nothing is ever written or
// removed through a symlink, not even one the same tar stream created.
type tree struct {
	fd  int
	seq int // temp name counter
}

// errThroughLink refuses a path with a symlink among its parents.
var errThroughLink = errors.New("refusing a path through a symlink")

// errUnsafeName refuses an absolute tar name or one with a ".." part.
var errUnsafeName = errors.New("refusing an absolute name or one with ..")

// errSparse refuses a sparse file: a few bytes of header can stand for a
// file of any size (a terabyte of zeros would be written out). loop's
// sync never sends one.
var errSparse = errors.New("refusing a sparse file")

// sparse reports whether hdr is a GNU sparse file, old style or PAX.
func sparse(hdr *tarHeader) bool { return hdr.Sparse }

func openTree(root string) (*tree, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", root, err)
	}
	return &tree{fd: fd}, nil
}

func (t *tree) Close() error { return unix.Close(t.fd) }

// splitName returns the components of a tar entry name; none for the
// root itself.
func splitName(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, errUnsafeName
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return nil, errUnsafeName
		default:
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// openDir opens the directory at parts below the root, without following
// symlinks; with create, missing directories are made (0755, root-owned,
// as Docker makes implied parents). The caller closes the descriptor.
func (t *tree) openDir(parts []string, create bool) (int, error) {
	cur, err := unix.Openat(t.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for i, p := range parts {
		next, err := unix.Openat(cur, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT && create {
			if err = unix.Mkdirat(cur, p, 0o755); err == nil || err == unix.EEXIST {
				next, err = unix.Openat(cur, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		if err == unix.ELOOP || err == unix.ENOTDIR {
			var st unix.Stat_t
			if unix.Fstatat(cur, p, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				err = fmt.Errorf("%s is a symlink: %w", strings.Join(parts[:i+1], "/"), errThroughLink)
			} else {
				err = fmt.Errorf("%s: %w", strings.Join(parts[:i+1], "/"), unix.ENOTDIR)
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// dirTime is a directory whose times are set once its entries are written.
type dirTime struct {
	parts []string
	hdr   *tarHeader
}

// Untar extracts a tar stream as Docker's CopyToContainer does for loop's
// tars: directories, regular files (written to a temp file in the same
// directory, then renamed over the target, so a reader never sees half a
// file), symlinks; owner, mode (setuid, setgid and sticky included) and
// mtime from the header; an entry replaces a path of another kind. Unsafe
// or failing entries are skipped and returned; the rest is extracted.
func (t *tree) Untar(r io.Reader) []error {
	tr := newTarReader(r)
	var errs []error
	var dirs []dirTime
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read tar: %w", err))
			break
		}
		parts, err := splitName(hdr.Name)
		if err == nil && sparse(hdr) {
			err = errSparse
		}
		if err == nil && len(parts) > 0 {
			err = t.entry(parts, hdr, tr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", hdr.Name, err))
			continue
		}
		if hdr.Typeflag == tarDir && len(parts) > 0 {
			dirs = append(dirs, dirTime{parts, hdr})
		}
	}
	for _, d := range dirs {
		if err := t.at(d.parts, func(pfd int, base string) error {
			return unix.UtimesNanoAt(pfd, base, times(d.hdr), unix.AT_SYMLINK_NOFOLLOW)
		}); err != nil {
			errs = append(errs, fmt.Errorf("%s: set times: %w", d.hdr.Name, err))
		}
	}
	return errs
}

// at calls fn with the (existing) parent directory of parts and the last
// part.
func (t *tree) at(parts []string, fn func(pfd int, base string) error) error {
	pfd, err := t.openDir(parts[:len(parts)-1], false)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return fn(pfd, parts[len(parts)-1])
}

func (t *tree) entry(parts []string, hdr *tarHeader, r io.Reader) error {
	pfd, err := t.openDir(parts[:len(parts)-1], true)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	base := parts[len(parts)-1]
	switch hdr.Typeflag {
	case tarDir:
		return t.dir(pfd, base, hdr)
	case tarReg:
		return t.file(pfd, base, hdr, r)
	case tarSymlink:
		return t.symlink(pfd, base, hdr)
	}
	return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
}

func (t *tree) dir(pfd int, base string, hdr *tarHeader) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := fsat.RemoveAll(pfd, base); err != nil {
			return fmt.Errorf("replace %s with a directory: %w", base, err)
		}
		err = unix.ENOENT
	}
	if err == unix.ENOENT {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, mode(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

func (t *tree) file(pfd int, base string, hdr *tarHeader, r io.Reader) (err error) {
	tmp := t.tempName()
	fd, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Unlinkat(pfd, tmp, 0)
		}
	}()
	f := os.NewFile(uintptr(fd), tmp)
	_, err = io.Copy(f, r)
	if err == nil {
		// chown before chmod: chown clears setuid and setgid.
		if err = unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			err = fmt.Errorf("chown: %w", err)
		}
	}
	if err == nil {
		if err = unix.Fchmod(fd, mode(hdr)); err != nil {
			err = fmt.Errorf("chmod: %w", err)
		}
	}
	if err == nil {
		if err = unix.UtimesNanoAt(pfd, tmp, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			err = fmt.Errorf("set times: %w", err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return fsat.Replace(pfd, tmp, base)
}

func (t *tree) symlink(pfd int, base string, hdr *tarHeader) (err error) {
	tmp := t.tempName()
	if err := unix.Symlinkat(hdr.Linkname, pfd, tmp); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Unlinkat(pfd, tmp, 0)
		}
	}()
	if err := unix.Fchownat(pfd, tmp, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.UtimesNanoAt(pfd, tmp, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return fsat.Replace(pfd, tmp, base)
}

// tempName is a name for a file being written, unique in this process.
func (t *tree) tempName() string {
	t.seq++
	return fmt.Sprintf(".loop-recv-%d-%d", os.Getpid(), t.seq)
}

// RemovePaths removes absolute paths (below the root) as `__rm` does: all
// are checked first, and a relative path or "/" refuses the whole list.
// A path below a symlink is refused; a missing one is fine.
func (t *tree) RemovePaths(paths []string) []error {
	clean := make([]string, 0, len(paths))
	for _, p := range paths {
		c, err := checkRemovable(p)
		if err != nil {
			return []error{err}
		}
		clean = append(clean, c)
	}
	var errs []error
	for _, p := range clean {
		parts, _ := splitName(strings.TrimPrefix(p, "/"))
		err := t.at(parts, fsat.RemoveAll)
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errs
}

// mode is the header's permission, setuid, setgid and sticky bits.
func mode(hdr *tarHeader) uint32 { return uint32(hdr.Mode) & 0o7777 }

// times are the access and modification times to set: the header's mtime,
// and its atime when that is later (as Docker does).
func times(hdr *tarHeader) []unix.Timespec {
	atime := hdr.AccessTime
	if atime.Before(hdr.ModTime) {
		atime = hdr.ModTime
	}
	return []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
}

func timespec(t time.Time) unix.Timespec {
	return unix.NsecToTimespec(t.UnixNano())
}
