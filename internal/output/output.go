// Package output holds the small writers loop puts a command's output
// through. Each is safe for the two goroutines that copy a command's
// stdout and stderr to write at once: Locked serializes writes to another
// writer, Buffer collects everything, Tail keeps the last bytes and Lines
// the last lines (for an error message or a report).
package output

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// Locked passes writes on to a writer one at a time, under a mutex that
// other writers (or readers of what it writes to) may share.
type Locked struct {
	mu *sync.Mutex
	w  io.Writer
}

// NewLocked returns a Locked writing to w under a mutex of its own.
func NewLocked(w io.Writer) *Locked { return &Locked{mu: new(sync.Mutex), w: w} }

// NewLockedBy returns a Locked writing to w under mu: writers that share mu
// never write at once, and a holder of mu sees no write in progress.
func NewLockedBy(mu *sync.Mutex, w io.Writer) *Locked { return &Locked{mu: mu, w: w} }

func (l *Locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Buffer is a bytes.Buffer that may be written and read concurrently.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

// String returns what was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Last is the last n bytes of b (b itself when it is shorter).
func Last(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Tail keeps the last Max bytes written to it.
type Tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

// NewTail returns a Tail that keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String is the bytes kept.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// Lines keeps the last lines written to it, each cut to a maximum length
// (a "\r" before the "\n" is dropped). A last line without its "\n" is held
// back until it is finished.
type Lines struct {
	mu      sync.Mutex
	max     int
	maxLine int
	partial []byte
	lines   []string
}

// ErrorTail returns the Lines a failed command's error carries: its last
// 20 lines, each of at most 1 KiB.
func ErrorTail() *Lines { return NewLines(20, 1024) }

// NewLines returns a Lines that keeps max lines of at most maxLine bytes.
func NewLines(max, maxLine int) *Lines { return &Lines{max: max, maxLine: maxLine} }

func (t *Lines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data := append(t.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		t.push(strings.TrimRight(string(data[:i]), "\r"))
		data = data[i+1:]
	}
	if len(data) > t.maxLine {
		data = data[:t.maxLine]
	}
	t.partial = append(t.partial[:0], data...)
	return len(p), nil
}

// Add keeps one whole line (one a line splitter already cut).
func (t *Lines) Add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.push(line)
}

// push keeps line, cut to maxLine bytes. t.mu held.
func (t *Lines) push(line string) {
	if len(line) > t.maxLine {
		line = strings.ToValidUTF8(line[:t.maxLine], "")
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// Lines returns a copy of the whole lines kept, oldest first.
func (t *Lines) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// String is the last lines kept, an unfinished last line included, joined
// by newlines: the output a failed command's error carries.
func (t *Lines) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.partial) > 0 {
		lines = append(append([]string(nil), lines...), strings.TrimRight(string(t.partial), "\r"))
		if len(lines) > t.max {
			lines = lines[len(lines)-t.max:]
		}
	}
	return strings.Join(lines, "\n")
}

// Reset forgets every line.
func (t *Lines) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines, t.partial = nil, nil
}

// OrDiscard is w, or io.Discard when w is nil: for optional writers.
func OrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
