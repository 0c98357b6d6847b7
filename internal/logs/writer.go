package logs

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/loopdev/loop/internal/isolate"
)

// Writer returns an io.Writer that stores what is written to it as lines
// of resource's stream. Bytes pass through three stages:
//
//  1. redaction of the byte stream (SetRedactor), which holds back only a
//     tail that may still become a secret value;
//  2. UTF-8 repair: each run of invalid bytes in a line becomes one U+FFFD,
//     exactly as strings.ToValidUTF8 does on the whole line;
//  3. line cutting: a line ends at "\n" (a "\r" before it is dropped); a
//     line longer than MaxLineLength is stored as consecutive pieces of at
//     most MaxLineLength bytes, cut before a character, never inside one.
//     A piece is stored as soon as it is known to be full; the rest of a
//     line waits for its end.
//
// The writer also has a `Flush() error` method, for the end of the stream
// (the runtimes call it at EOF): it stores what is held back, redacted,
// and the partial line. Write never fails.
func (s *Store) Writer(resource, stream string) io.Writer {
	return &lineWriter{s: s, resource: resource, stream: stream}
}

// TeeWriter is Writer, and it also hands each line it stores (redacted and
// cut, as stored) to each, outside the Store's lock: the engine keeps the
// last lines of a resource's output for its diagnostics and error
// reports, and must never see what the log does not.
func (s *Store) TeeWriter(resource, stream string, each func(text string)) io.Writer {
	return &lineWriter{s: s, resource: resource, stream: stream, each: each}
}

type lineWriter struct {
	s                *Store
	resource, stream string
	each             func(text string) // nil: none (TeeWriter)

	mu      sync.Mutex
	held    []byte   // raw bytes the redactor holds back
	red     []byte   // scratch: redacted bytes
	line    []byte   // the current line so far, valid UTF-8, after cuts
	partial []byte   // the start of a character not complete yet
	invalid bool     // the last bytes of line were an invalid run (one U+FFFD so far)
	started bool     // the current line has had bytes (it is stored at Flush even if empty)
	out     []string // lines ready to be stored
}

var _ interface{ Flush() error } = (*lineWriter)(nil)

func (w *lineWriter) Write(p []byte) (n int, err error) {
	n = len(p) // also after a panic: the writer never fails its process
	w.mu.Lock()
	defer w.mu.Unlock()
	defer isolate.Recover("log writer", w.failed)
	w.feed(w.redactStream(p, false))
	w.store()
	w.shrink()
	return len(p), nil
}

// Flush stores the bytes held back by the redactor and the partial line,
// if any.
func (w *lineWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer isolate.Recover("log writer", w.failed)
	w.feed(w.redactStream(nil, true))
	if w.started {
		w.endLine()
	}
	w.store()
	return nil
}

// failed handles a panic of the writer (a bug): the writer runs in the
// goroutines that copy a process's output, where a panic would take down
// loopd and every project. What it held is dropped (unredacted bytes
// cannot be stored), the resource's log says so, and it starts afresh.
// w.mu held.
func (w *lineWriter) failed(p *isolate.Panic) {
	w.held, w.red, w.line, w.partial, w.out = nil, nil, nil, nil, nil
	w.invalid, w.started = false, false
	w.s.Append(w.resource, Loop, p.Error()+": output was dropped")
}

// redactStream returns the bytes of p (after those held back) that the
// redactor lets through. w.mu held.
func (w *lineWriter) redactStream(p []byte, eof bool) []byte {
	r := w.s.redactor()
	if r == nil {
		if len(w.held) == 0 {
			return p
		}
		w.red = append(append(w.red[:0], w.held...), p...)
		w.held = w.held[:0]
		return w.red
	}
	src := p
	if len(w.held) > 0 {
		w.held = append(w.held, p...)
		src = w.held
	}
	var n int
	w.red, n = r.RedactStream(w.red[:0], src, eof)
	if n < len(src) {
		w.held = append(w.held[:0], src[n:]...)
	} else {
		w.held = w.held[:0]
	}
	return w.red
}

// feed cuts b into lines. w.mu held.
func (w *lineWriter) feed(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.addText(b)
			return
		}
		w.addText(b[:i])
		w.endLine()
		b = b[i+1:]
	}
}

// addText appends b (no "\n") to the current line, repaired, and cuts off
// the pieces that are full. w.mu held.
func (w *lineWriter) addText(b []byte) {
	if len(b) == 0 {
		return
	}
	w.started = true
	if len(w.partial) > 0 { // the rest of a character may start b
		w.partial = append(w.partial, b...)
		b = w.partial
	}
	n := w.repair(b, false)
	w.partial = append(w.partial[:0], b[n:]...)
	w.cut(false)
}

// repair appends b to the line with each run of invalid UTF-8 replaced by
// one U+FFFD, and returns how many bytes it consumed: all of b, except,
// unless final, a character still incomplete at the end of b.
func (w *lineWriter) repair(b []byte, final bool) int {
	i := 0
	for i < len(b) {
		if b[i] < utf8.RuneSelf { // a run of ASCII, the common case
			j := i + 1
			for j < len(b) && b[j] < utf8.RuneSelf {
				j++
			}
			w.line = append(w.line, b[i:j]...)
			w.invalid = false
			i = j
			continue
		}
		if !final && !utf8.FullRune(b[i:]) {
			break // wait for the rest of the character
		}
		if _, size := utf8.DecodeRune(b[i:]); size > 1 {
			w.line = append(w.line, b[i:i+size]...)
			w.invalid = false
			i += size
			continue
		}
		if !w.invalid {
			w.line = append(w.line, "\uFFFD"...)
			w.invalid = true
		}
		i++
	}
	return i
}

// cut stores the full pieces of the current line: while it is longer than
// MaxLineLength, its first MaxLineLength bytes (less, to end before a
// character). A line one byte too long that ends in "\r" waits: the "\r"
// may be its line ending. At the end of the line (final), a last "\r" is
// dropped first. w.mu held.
func (w *lineWriter) cut(final bool) {
	max := w.s.lim.lineLength
	if final {
		w.line = bytes.TrimSuffix(w.line, []byte{'\r'})
	}
	start := 0 // of the rest of the line
	for len(w.line)-start > max {
		if !final && len(w.line)-start == max+1 && w.line[len(w.line)-1] == '\r' {
			break
		}
		c := cutPoint(w.line[start:], max)
		w.out = append(w.out, string(w.line[start:start+c]))
		start += c
	}
	if start > 0 {
		w.line = w.line[:copy(w.line, w.line[start:])]
	}
}

// cutPoint returns where to end the first piece of text (valid UTF-8,
// longer than max >= utf8.UTFMax): at max, or before the character that
// crosses it.
func cutPoint[T string | []byte](text T, max int) int {
	c := max
	for c > max-utf8.UTFMax+1 && !utf8.RuneStart(text[c]) {
		c--
	}
	return c
}

// cutLine appends to out the pieces a Writer stores for one whole line of
// valid UTF-8 text (without its ending).
func cutLine(out []string, text string, max int) []string {
	for len(text) > max {
		c := cutPoint(text, max)
		out = append(out, text[:c])
		text = text[c:]
	}
	return append(out, text)
}

// endLine finishes the current line: an incomplete character becomes
// U+FFFD, a last "\r" goes, the rest is stored. w.mu held.
func (w *lineWriter) endLine() {
	if len(w.partial) > 0 {
		w.repair(w.partial, true)
		w.partial = w.partial[:0]
	}
	w.cut(true)
	w.out = append(w.out, string(w.line))
	w.line, w.invalid, w.started = w.line[:0], false, false
}

// shrink lets go of buffers a huge write grew: a writer between writes
// holds at most about MaxLineLength bytes. w.mu held.
func (w *lineWriter) shrink() {
	keep := 2 * w.s.lim.lineLength
	if cap(w.red) > keep {
		w.red = nil
	}
	for _, b := range []*[]byte{&w.line, &w.partial, &w.held} {
		if cap(*b) > keep {
			*b = bytes.Clone(*b)
		}
	}
}

// store hands the lines ready to the Store, under one lock. w.mu held.
func (w *lineWriter) store() {
	if len(w.out) == 0 {
		return
	}
	func() {
		w.s.mu.Lock()
		defer w.s.mu.Unlock() // also if add panics: see failed
		for _, text := range w.out {
			w.s.add(w.resource, w.stream, text)
		}
	}()
	if w.each != nil {
		for _, text := range w.out {
			w.each(text)
		}
	}
	clear(w.out)
	w.out = w.out[:0]
}
