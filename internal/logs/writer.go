package logs

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"
)

// Writer returns an io.Writer that splits what is written to it into lines
// of resource's stream. A line ends at "\n" ("\r\n" too); a partial line is
// held until its end arrives, or until it reaches MaxLineLength, when it is
// stored as is. The writer also has a `Flush() error` method that stores a
// held partial line (the process runtime calls it at EOF).
func (s *Store) Writer(resource, stream string) io.Writer {
	return &lineWriter{s: s, resource: resource, stream: stream}
}

type lineWriter struct {
	s                *Store
	resource, stream string

	mu  sync.Mutex
	buf []byte // the partial line
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	rest := w.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.emit(rest[:i])
		rest = rest[i+1:]
	}
	for len(rest) >= MaxLineLength {
		cut := MaxLineLength
		for cut > MaxLineLength-utf8.UTFMax && !utf8.RuneStart(rest[cut]) {
			cut-- // do not split a character
		}
		w.s.Append(w.resource, w.stream, string(rest[:cut]))
		rest = rest[cut:]
	}
	w.buf = append(w.buf[:0], rest...)
	return len(p), nil
}

// Flush stores the partial line, if any.
func (w *lineWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	return nil
}

func (w *lineWriter) emit(line []byte) {
	w.s.Append(w.resource, w.stream, string(bytes.TrimSuffix(line, []byte{'\r'})))
}
