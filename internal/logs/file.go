package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fileName maps a resource name to its log file name. Bytes outside
// [A-Za-z0-9._-] are escaped as %XX, so no name can leave dir; the project
// itself (resource "") gets "%project.log", which no name escapes to.
func fileName(resource string) string {
	if resource == "" {
		return "%project.log"
	}
	var b strings.Builder
	for i := 0; i < len(resource); i++ {
		c := resource[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String() + ".log"
}

// fileIO appends batches of lines to the resources' files. Each batch opens
// the file by name (so a removed directory or file is made again, and no
// descriptor is held between batches), writes whole lines with one Write,
// and on a failed or short write cuts the file back to its size before,
// so it always ends with a whole line. Used by one goroutine at a time
// (the Store's flusher); no lock.
type fileIO struct {
	dir      string
	fileSize int64
	sizes    map[string]int64 // size of each file after our last write: it ends with "\n"
	// writeFile writes b to f; a seam for tests of short writes.
	writeFile func(f *os.File, b []byte) (int, error)
}

func (fio *fileIO) init(dir string, fileSize int64) {
	fio.dir, fio.fileSize = dir, fileSize
	fio.sizes = make(map[string]int64)
	fio.writeFile = (*os.File).Write
}

// write appends lines (all of resource's, in order) to its file, rotating
// it past fileSize, and returns how many were written: a failure leaves
// the rest, and the file as it was before them.
func (fio *fileIO) write(resource string, lines []pending) (int, error) {
	path := filepath.Join(fio.dir, fileName(resource))
	f, size, err := fio.open(path)
	if err != nil {
		return 0, err
	}
	// The data is written by Write; Close of a local file reports nothing
	// more. f is nil after a failed rotation (Close then does nothing).
	defer func() { f.Close() }()
	var sep []byte // "\n" when the file does not end with one (a killed daemon tore its last line)
	if size > 0 && size != fio.sizes[path] && !endsWithNewline(f, size) {
		sep = []byte{'\n'}
	}
	written := 0
	for written < len(lines) {
		if size > 0 && size+int64(len(sep)+len(lines[written].data)) > fio.fileSize {
			if f, err = fio.rotate(f, path); err != nil {
				return written, err
			}
			size, sep = 0, nil
		}
		// One chunk: the lines that fit before the next rotation (at least
		// one), with one Write.
		chunk := sep
		end := written
		for end < len(lines) && (end == written || size+int64(len(chunk)+len(lines[end].data)) <= fio.fileSize) {
			chunk = append(chunk, lines[end].data...)
			end++
		}
		n, err := fio.writeFile(f, chunk)
		if err == nil && n < len(chunk) {
			err = io.ErrShortWrite
		}
		if err != nil {
			fio.sizes[path] = size
			if n > 0 {
				if terr := f.Truncate(size); terr != nil {
					delete(fio.sizes, path) // check its end when next opened
					err = fmt.Errorf("%w (and cut back: %v)", err, terr)
				}
			}
			return written, fmt.Errorf("write %s: %w", path, err)
		}
		size += int64(n)
		sep = nil
		written = end
	}
	fio.sizes[path] = size
	return written, nil
}

// open opens path for appending, making the directory again if it was
// removed, and returns the file's size.
func (fio *fileIO) open(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(fio.dir, 0o700); err != nil {
			return nil, 0, fmt.Errorf("make log directory again: %w", err)
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open log file: %w", err)
	}
	return f, fi.Size(), nil
}

// rotate closes f, moves its file to <path>.1 (replacing an older one) and
// opens a new, empty one.
func (fio *fileIO) rotate(f *os.File, path string) (*os.File, error) {
	f.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		return nil, fmt.Errorf("rotate %s: %w", path, err)
	}
	nf, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rotate %s: %w", path, err)
	}
	fio.sizes[path] = 0
	return nf, nil
}

func endsWithNewline(f *os.File, size int64) bool {
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}

// loadTails reads back, for each resource, the last n lines of its files
// (the current one, then the rotated one for the rest), reading at most
// about maxBytes of each file, and returns them in Seq order with the
// highest Seq found.
func loadTails(dir string, n int, maxBytes int) ([]Line, uint64, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return nil, 0, err
	}
	var all []Line
	var maxSeq uint64
	for _, p := range paths {
		lines, whole, err := tailLines(p, n, maxBytes)
		if err != nil {
			return nil, 0, err
		}
		if len(lines) < n && whole { // the rest from the rotated file, without a gap
			older, _, err := tailLines(p+".1", n-len(lines), maxBytes)
			if err != nil {
				return nil, 0, err
			}
			lines = append(older, lines...)
		}
		for _, l := range lines {
			maxSeq = max(maxSeq, l.Seq)
		}
		all = append(all, lines...)
	}
	slices.SortFunc(all, func(a, b Line) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return all, maxSeq, nil
}

// tailLines parses the last n lines of the file at path, reading it from
// the end, and no more than about maxBytes of it; whole reports whether it
// read the file to its start. A missing file has none; lines that do not
// parse (torn by a crash) are skipped.
func tailLines(path string, n, maxBytes int) (lines []Line, whole bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	const chunk = 64 << 10
	var buf []byte
	off, newlines := fi.Size(), 0
	for off > 0 && newlines <= n && len(buf) < maxBytes {
		size := min(chunk, off)
		off -= size
		b := make([]byte, size, size+int64(len(buf)))
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, false, fmt.Errorf("read %s: %w", path, err)
		}
		newlines += bytes.Count(b, []byte{'\n'})
		buf = append(b, buf...)
	}
	raw := bytes.Split(buf, []byte{'\n'})
	if off > 0 {
		raw = raw[1:] // starts mid-line
	}
	for _, r := range raw {
		var l Line
		if len(r) == 0 || json.Unmarshal(r, &l) != nil || l.Seq == 0 {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, off == 0, nil
}
