//go:build unix

package supervise

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/zeebo/xxh3"
)

// hashMain is `__hash -- DIR...`: one line per entry of each tree, the root
// included, in lexical walk order:
//
//	F\t<xxh3-64 of content, %016x>\t<mode octal>\t<abs path>
//	L\t<link target>\t0\t<abs path>
//	D\t-\t<mode octal>\t<abs path>
//
// The mode is the permission bits with setuid, setgid and sticky (st_mode
// & 07777). Other file types (sockets, devices, fifos) are skipped. A DIR
// that does not exist prints nothing. Unreadable entries are reported on
// stderr and make the exit code 1; the rest is still listed.
func hashMain(args []string, stdout, stderr io.Writer) int {
	w := bufio.NewWriterSize(stdout, 64*1024)
	code := 0
	for _, dir := range operands(args) {
		root, err := filepath.Abs(dir)
		if err != nil {
			fmt.Fprintf(stderr, "loop __hash: %v\n", err)
			code = 1
			continue
		}
		if err := hashTree(w, root); err != nil {
			fmt.Fprintf(stderr, "loop __hash: %v\n", err)
			code = 1
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "loop __hash: %v\n", err)
		return 1
	}
	return code
}

func hashTree(w io.Writer, root string) error {
	var errs []error
	walk := func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the root is missing, or an entry vanished mid-walk
			}
			errs = append(errs, err)
			return nil
		}
		if err := hashEntry(w, p, d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		return nil
	}
	if err := filepath.WalkDir(root, walk); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func hashEntry(w io.Writer, p string, d fs.DirEntry) error {
	switch t := d.Type(); {
	case t&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "L\t%s\t0\t%s\n", target, p)
		return err
	case t.IsDir():
		fi, err := d.Info()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "D\t-\t%o\t%s\n", unixPerm(fi), p)
		return err
	case t.IsRegular():
		sum, fi, err := hashFile(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "F\t%016x\t%o\t%s\n", sum, unixPerm(fi), p)
		return err
	}
	return nil
}

func hashFile(p string) (uint64, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	h := xxh3.New()
	if _, err := io.Copy(h, f); err != nil {
		return 0, nil, fmt.Errorf("hash %s: %w", p, err)
	}
	return h.Sum64(), fi, nil
}

// unixPerm is st_mode & 07777.
func unixPerm(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint32(st.Mode) & 0o7777
	}
	m := uint32(fi.Mode().Perm())
	if fi.Mode()&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}
