//go:build linux

package containerd

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/loopdev/loop/internal/fsat"
)

// extract writes a tar stream (directories, regular files, symlinks) into
// the directory root from the host. Every parent directory is resolved
// inside root (symlinks included, as the container would resolve them), and
// the last component is never followed, so no entry lands outside root
// whatever the container has put there. Files and symlinks are written to a
// temporary name and renamed over the old entry, so a running service never
// reads half a file. It reads r to its end.
func extract(root string, r io.Reader) (err error) {
	defer func() {
		io.Copy(io.Discard, r)
	}()
	rootf, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open container root: %w", err)
	}
	defer rootf.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		if err := extractEntry(rootf, name, hdr, tr); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
	}
}

func extractEntry(root *os.File, name string, hdr *tar.Header, r io.Reader) error {
	dir, base := path.Split(name)
	parent, err := mkdirAll(root, dir, hdr.Uid, hdr.Gid)
	if err != nil {
		return err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeDir:
		var st unix.Stat_t
		err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := fsat.RemoveAll(pfd, base); err != nil {
				return err
			}
			err = unix.ENOENT
		}
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("mkdir: %w", err)
			}
		} else if err != nil {
			return err
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return errors.Join(unix.Fchown(fd, hdr.Uid, hdr.Gid), unix.Fchmod(fd, mode))
	case tar.TypeReg:
		tmp := tempName(base)
		fd, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), tmp)
		_, werr := io.Copy(f, r)
		err = errors.Join(werr, unix.Fchown(fd, hdr.Uid, hdr.Gid), unix.Fchmod(fd, mode), // after chown, which clears setuid
			unix.Futimes(fd, []unix.Timeval{unix.NsecToTimeval(hdr.ModTime.UnixNano()), unix.NsecToTimeval(hdr.ModTime.UnixNano())}))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			unix.Unlinkat(pfd, tmp, 0)
			return err
		}
		return fsat.Replace(pfd, tmp, base)
	case tar.TypeSymlink:
		tmp := tempName(base)
		if err := unix.Symlinkat(hdr.Linkname, pfd, tmp); err != nil {
			return err
		}
		if err := unix.Fchownat(pfd, tmp, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Unlinkat(pfd, tmp, 0)
			return err
		}
		return fsat.Replace(pfd, tmp, base)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

// tempName is a hidden name next to base for an entry being written.
func tempName(base string) string {
	return ".loop-sync-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + base[:min(len(base), 64)]
}

// mkdirAll returns an O_PATH handle of dir inside root, creating missing
// directories (0755, owned by uid:gid). Every component is resolved inside
// root, symlinks included (a dangling one gets its target created, inside
// root).
func mkdirAll(root *os.File, dir string, uid, gid int) (*os.File, error) {
	done := "/"
	cur, err := pathrs.OpenatInRoot(root, done)
	if err != nil {
		return nil, err
	}
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		done = path.Join(done, c)
		cur.Close()
		cur, err = pathrs.OpenatInRoot(root, done)
		if errors.Is(err, os.ErrNotExist) {
			cur, err = pathrs.MkdirAllHandle(root, done, 0o755)
			if err == nil {
				err = unix.Fchownat(int(cur.Fd()), "", uid, gid, unix.AT_EMPTY_PATH)
			}
		}
		if err != nil {
			if cur != nil {
				cur.Close()
			}
			return nil, fmt.Errorf("mkdir %s: %w", done, err)
		}
	}
	return cur, nil
}
