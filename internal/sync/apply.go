package sync

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/subpath"
)

// errStreamClosed ends the tar writer when the Target returned from Copy
// before reading the whole stream.
var errStreamClosed = errors.New("target stopped reading the tar stream")

// Apply sends p to t: all copies as ONE tar stream (written through a pipe
// while Copy reads it, so a burst of 10,000 files never sits in memory),
// then one Delete call with p.Deletes plus the copies that vanished from
// the host in the meantime. Refused entries are skipped and listed in
// Stats.Refused; they do not make Apply fail. Copy is not called when there
// is nothing to copy, nor Delete when there is nothing to delete.
//
// Entries keep their mode (setuid, setgid and sticky included) and their
// modification time, truncated to the second (as docker cp does: a compact
// USTAR header per entry instead of a 1 KiB PAX one); they are owned by
// opts.UID:opts.GID. A Windows host has no Unix modes: entries from it are
// 0755 (0555 read-only), as with docker cp (localMode). A symlink is written as it is when its target,
// resolved from the link's directory, is inside opts.Root; an absolute
// target inside the root is rewritten relative to the link's directory,
// because the host's absolute path means nothing in the container while the
// relative one resolves wherever the tree is synced with the same layout.
func Apply(ctx context.Context, t Target, p Plan, opts Options) (Stats, error) {
	c, err := newConfined(opts.Root)
	if err != nil {
		return Stats{}, fmt.Errorf("sync: %w", err)
	}
	defer c.close()
	return apply(ctx, t, p, opts, c)
}

func apply(ctx context.Context, t Target, p Plan, opts Options, c *confined) (Stats, error) {
	var st Stats
	entries := make([]entry, 0, len(p.Copies))
	var gone []string
	outside := outsideRules{c: c, rules: compile(p.Rules)}
	for _, f := range p.Copies {
		e, ok, err := check(f, c)
		switch {
		case err != nil:
			if !outside.add(f, err) { // a rule outside the project is reported once
				st.refuse(f.Local, reasonOf(err))
			}
		case !ok:
			gone = append(gone, f.Remote)
		case e != nil:
			entries = append(entries, *e)
		}
	}
	st.Refused = append(st.Refused, outside.report()...)
	deletes := make([]string, 0, len(p.Deletes)+len(gone))
	for _, d := range p.Deletes {
		if !safeRemote(d) {
			st.refuse(d, "unsafe container path: not deleted")
			continue
		}
		deletes = append(deletes, d)
	}
	if len(entries) > 0 {
		vanished, err := stream(ctx, t, entries, opts, c, &st)
		gone = append(gone, vanished...)
		if err != nil {
			return st, err
		}
	}
	deletes = topmost(append(deletes, gone...))
	if len(deletes) > 0 {
		if err := t.Delete(ctx, deletes); err != nil {
			return st, fmt.Errorf("sync delete of %d paths: %w", len(deletes), err)
		}
		st.Deleted = len(deletes)
	}
	return st, nil
}

// entry is a File checked to be copyable.
type entry struct {
	File
	info fs.FileInfo // from Lstat; files are stat'ed again once open
	link string      // symlinks: the target to write
}

// check classifies f: an entry to stream, gone from the host (ok false), or
// refused (err set: why). The root directory "/" is skipped silently.
func check(f File, c *confined) (e *entry, ok bool, err error) {
	if f.Remote == "/" {
		return nil, true, nil
	}
	if !safeRemote(f.Remote) || !filepath.IsAbs(f.Local) {
		return nil, true, fmt.Errorf("unsafe path pair -> %q: not copied", f.Remote)
	}
	fi, err := c.lstat(f.Local)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, false, nil
		}
		var oe *outsideError
		if errors.As(err, &oe) {
			return nil, true, fmt.Errorf("%w: not copied", err)
		}
		return nil, true, err
	}
	e = &entry{File: f, info: fi}
	switch m := fi.Mode(); {
	case m.IsRegular(), m.IsDir():
	case m&fs.ModeSymlink != 0:
		var reason string
		if e.link, reason = linkTarget(c, f.Local); reason != "" {
			return nil, true, errors.New(reason)
		}
	default:
		return nil, true, errors.New("not a regular file, directory or symlink (" + kindName(m) + "): not copied")
	}
	return e, true, nil
}

// safeRemote reports whether p is a clean absolute container path below
// "/" (a clean absolute path has no ".." element).
func safeRemote(p string) bool {
	return strings.HasPrefix(p, "/") && p != "/" && path.Clean(p) == p
}

// linkTarget returns the target to write for the symlink local, or why it
// is refused.
func linkTarget(c *confined, local string) (string, string) {
	root := c.root
	if root == "" {
		return "", "symlink refused: no project root to check its target against"
	}
	target, err := c.readlink(local)
	if err != nil {
		return "", reasonOf(err)
	}
	abs := filepath.Clean(target)
	if !filepath.IsAbs(target) {
		abs = filepath.Join(filepath.Dir(local), target)
	}
	if _, inside := subpath.Below(abs, root); !inside && abs != root {
		return "", fmt.Sprintf("symlink to %s resolves outside the project %s: not copied", target, root)
	}
	if filepath.IsAbs(target) {
		rel, err := filepath.Rel(filepath.Dir(local), abs)
		if err != nil {
			return "", reasonOf(err)
		}
		target = rel
	}
	return filepath.ToSlash(target), ""
}

// stream writes entries as one tar stream into t.Copy and returns the
// container paths of files that vanished before they could be read.
func stream(ctx context.Context, t Target, entries []entry, opts Options, c *confined, st *Stats) ([]string, error) {
	pr, pw := io.Pipe()
	w := tarWriter{opts: opts, c: c, st: st}
	done := make(chan error, 1)
	go func() {
		err := w.write(ctx, pw, entries)
		pw.CloseWithError(err) // nil: the reader sees EOF
		done <- err
	}()
	cerr := t.Copy(ctx, pr)
	pr.CloseWithError(errStreamClosed) // unblocks the writer if Copy stopped early
	werr := <-done                     // st and w.gone are ours again
	switch {
	case werr != nil && !errors.Is(werr, errStreamClosed) && ctx.Err() == nil:
		return w.gone, fmt.Errorf("sync tar stream: %w", werr) // the cause of a failed Copy, if it failed
	case cerr != nil:
		return w.gone, fmt.Errorf("sync copy: %w", cerr)
	case werr != nil:
		return w.gone, fmt.Errorf("sync copy: %w", werr)
	}
	return w.gone, nil
}

// tarWriter is owned by the goroutine that writes the stream until it ends.
type tarWriter struct {
	opts Options
	c    *confined
	st   *Stats
	gone []string
	buf  []byte
}

const (
	pipeBuffer = 256 << 10 // bytes handed to the pipe at a time
	readBuffer = 128 << 10
)

func (w *tarWriter) write(ctx context.Context, out io.Writer, entries []entry) error {
	bw := bufio.NewWriterSize(out, pipeBuffer)
	tw := tar.NewWriter(bw)
	w.buf = make([]byte, readBuffer)
	for i := range entries {
		if i%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e := &entries[i]
		name := e.Remote[1:]
		switch m := e.info.Mode(); {
		case m.IsDir():
			if err := tw.WriteHeader(w.header(name+"/", tar.TypeDir, e.info)); err != nil {
				return err
			}
			w.st.Dirs++
		case m&fs.ModeSymlink != 0:
			hdr := w.header(name, tar.TypeSymlink, e.info)
			hdr.Linkname = e.link
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			w.st.Links++
		default:
			if err := w.file(tw, name, e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// file streams one regular file. The header is written only once the file
// is open and stat'ed, so a file that vanished or became unreadable is
// skipped, not a broken stream. On Unix a hostFile is a raw descriptor: an
// os.File costs an extra fstat and a finalizer per file, a third of the
// time in a 10,000-file burst.
func (w *tarWriter) file(tw *tar.Writer, name string, e *entry) error {
	// Through its directory's real path, never through a symlink swapped
	// in since Lstat, never hanging on a fifo swapped in.
	f, err := w.c.openFile(e.Local)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			w.gone = append(w.gone, e.Remote)
		} else {
			w.st.refuse(e.Local, reasonOf(err))
		}
		return nil
	}
	defer f.close()
	size, regular, err := f.stat()
	if err != nil {
		w.st.refuse(e.Local, "fstat: "+err.Error())
		return nil
	}
	if !regular {
		w.st.refuse(e.Local, "changed into a non-regular file while syncing: not copied")
		return nil
	}
	hdr := w.header(name, tar.TypeReg, e.info) // mode and mtime as of Lstat: close enough, the size is exact
	hdr.Size = size
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// Exactly Size bytes: a file truncated meanwhile is padded with zeros
	// (the watcher reports the truncation, the next batch fixes it), one
	// that grew is cut.
	for left := hdr.Size; left > 0; {
		n, rerr := f.read(w.buf[:min(int64(len(w.buf)), left)])
		if n > 0 {
			if _, err := tw.Write(w.buf[:n]); err != nil {
				return err
			}
			left -= int64(n)
		}
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("read %s: %w", e.Local, rerr)
		}
		if rerr == io.EOF {
			clear(w.buf)
			for left > 0 {
				k := min(int64(len(w.buf)), left)
				if _, err := tw.Write(w.buf[:k]); err != nil {
					return err
				}
				left -= k
			}
		}
	}
	w.st.Files++
	w.st.Bytes += hdr.Size
	return nil
}

func (w *tarWriter) header(name string, typ byte, fi fs.FileInfo) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     tarMode(localMode(fi.Mode())),
		Uid:      owner(w.opts.UID),
		Gid:      owner(w.opts.GID),
		ModTime:  fi.ModTime().Truncate(time.Second),
	}
}

func owner(id int) int {
	if id < 0 {
		return 0
	}
	return id
}

// Unix mode bits as tar stores them.
const (
	modeSetuid = 0o4000
	modeSetgid = 0o2000
	modeSticky = 0o1000
)

// tarMode is m's permission, setuid, setgid and sticky bits as Unix bits.
func tarMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= modeSetuid
	}
	if m&fs.ModeSetgid != 0 {
		v |= modeSetgid
	}
	if m&fs.ModeSticky != 0 {
		v |= modeSticky
	}
	return v
}

func kindName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	}
	return "irregular file"
}

// reasonOf is err without the path a *fs.PathError repeats.
func reasonOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}
