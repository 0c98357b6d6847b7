package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// logFile is the open <resource>.log of one resource.
type logFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes in the file, buffered ones included
}

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

// persist appends l to its resource's file. s.mu held.
func (s *Store) persist(l Line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("persist log line: %w", err)
	}
	b = append(b, '\n')
	f := s.files[l.Resource]
	if f == nil {
		f, err = openLogFile(filepath.Join(s.dir, fileName(l.Resource)))
		if err != nil {
			return err
		}
		s.files[l.Resource] = f
	}
	if f.size > 0 && f.size+int64(len(b)) > s.maxFileSize {
		if err := f.rotate(); err != nil {
			return err
		}
	}
	n, err := f.w.Write(b)
	f.size += int64(n)
	if err != nil {
		return fmt.Errorf("persist log line to %s: %w", f.path, err)
	}
	if s.flushTimer == nil {
		s.flushTimer = time.AfterFunc(flushDelay, s.flush)
	}
	return nil
}

// flush writes out the buffered lines; run by flushTimer.
func (s *Store) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushTimer = nil
	if s.closed {
		return
	}
	for _, f := range s.files {
		if err := f.w.Flush(); err != nil && len(s.errs) < 10 {
			s.errs = append(s.errs, fmt.Errorf("flush %s: %w", f.path, err))
		}
	}
}

func openLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log file: %w", err)
	}
	lf := &logFile{path: path, f: f, w: bufio.NewWriterSize(f, 32<<10), size: fi.Size()}
	if lf.size > 0 && !endsWithNewline(path, lf.size) {
		// A killed daemon left half a line: end it, so the next line
		// starts clean (the torn one is skipped when read).
		lf.w.WriteByte('\n')
		lf.size++
	}
	return lf, nil
}

func endsWithNewline(path string, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}

// rotate moves the file to <path>.1, replacing an older one, and starts a
// new one.
func (lf *logFile) rotate() error {
	if err := lf.close(); err != nil {
		return err
	}
	if err := os.Rename(lf.path, lf.path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", lf.path, err)
	}
	f, err := os.OpenFile(lf.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("rotate %s: %w", lf.path, err)
	}
	lf.f, lf.size = f, 0
	lf.w.Reset(f)
	return nil
}

func (lf *logFile) close() error {
	err := lf.w.Flush()
	if cerr := lf.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", lf.path, err)
	}
	return nil
}

// loadTails reads back the last n lines of the project, over every
// resource's files, in Seq order, and the highest Seq found.
func loadTails(dir string, n int) ([]Line, uint64, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return nil, 0, err
	}
	var all []Line
	var maxSeq uint64
	for _, p := range paths {
		lines, err := tailLines(p, n)
		if err != nil {
			return nil, 0, err
		}
		if len(lines) < n {
			older, err := tailLines(p+".1", n-len(lines))
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
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, maxSeq, nil
}

// tailLines parses the last n lines of the file at path, reading it from
// the end. A missing file has none; lines that do not parse (torn by a
// crash) are skipped.
func tailLines(path string, n int) ([]Line, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	const chunk = 64 << 10
	var buf []byte
	off, newlines := fi.Size(), 0
	for off > 0 && newlines <= n {
		size := min(chunk, off)
		off -= size
		b := make([]byte, size, size+int64(len(buf)))
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		newlines += bytes.Count(b, []byte{'\n'})
		buf = append(b, buf...)
	}
	raw := bytes.Split(buf, []byte{'\n'})
	if off > 0 {
		raw = raw[1:] // starts mid-line
	}
	var lines []Line
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
	return lines, nil
}
