// Package logs keeps the output of a project's resources: every line a
// service or task prints, plus loop's own messages about it ("restarting:
// main.go changed").
//
// Lines. A resource's output reaches the Store through a Writer, one per
// resource and stream. The Writer first redacts the byte stream (the
// Redactor, see SetRedactor), so a secret value is replaced even when it
// is split across writes, across lines or contains newlines; then it cuts
// the stream into lines at "\n" ("\r\n" too), replaces invalid UTF-8 with
// U+FFFD and stores a line longer than MaxLineLength as consecutive pieces
// of at most MaxLineLength bytes, never splitting a character: nothing is
// dropped. Loop's own lines (Append) are redacted one by one, and split
// the same way.
//
// Memory. Every line gets a sequence number that never goes back, shared by
// the whole project, so clients can page and resume (Query with AfterSeq).
// Each resource keeps its own last lines (DefaultResourceLines, or what
// Open is given, and at most ResourceBytes), so a noisy resource never
// pushes a quiet one out; the project's own lines (resource "") are kept
// the same way. Across the project, memory is bounded by ProjectBytes:
// past it, the oldest line of the resource holding the most is dropped.
// Each line counts as its text plus LineOverhead bytes.
//
// Disk. Every line is also appended as JSON to <dir>/<resource>.log,
// rotated to <resource>.log.1 past MaxFileSize; Open reads each resource's
// own tail back, so logs survive a daemon restart and sequence numbers
// continue where they stopped. Lines go to memory first (a Query right
// after Append sees them) and to disk by one goroutine, in batches written
// FlushDelay after their first line (at once when half the waiting bound
// is reached), with one write(2) per file (and per rotation). Files are
// opened by name for each batch, so a removed directory is made again. A
// write that fails (disk full, I/O error, rotation) never leaves half a
// line in the file: the file is cut back to its last whole line. The
// lines wait in memory (at most MaxPendingLines and MaxPendingBytes; past
// that the oldest are given up on) and are retried with a backoff from
// RetryMin to RetryMax, and sooner when new lines arrive, so logging
// resumes by itself once the disk does. A marker line then says, in the
// resource's log, how many lines were not written and why. Health reports
// the state and Changed signals when it changes. A project's memory is
// thus bounded by ProjectBytes plus MaxPendingBytes, plus what each Writer
// holds (about one line). A killed daemon may lose the last FlushDelay of
// persisted lines, never the ones in memory of a running daemon.
package logs

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Streams of a Line.
const (
	Stdout = "stdout"
	Stderr = "stderr"
	Loop   = "loop" // messages from loop itself about the resource
)

// Limits. Every one is named in the message of what hits it.
const (
	// DefaultResourceLines is how many lines each resource keeps in
	// memory (and loads back at Open) unless Open is told otherwise.
	DefaultResourceLines = 5_000
	// ResourceBytes bounds the memory one resource's lines take (text
	// plus LineOverhead each); past it its oldest lines are dropped.
	ResourceBytes = 8 << 20
	// ProjectBytes bounds the memory of all the lines of a project; past
	// it the oldest line of the resource holding the most is dropped.
	ProjectBytes = 64 << 20
	// LineOverhead is what a line costs in memory besides its text.
	LineOverhead = 96
	// MaxLineLength is the longest line stored, in bytes of UTF-8; a
	// longer one is stored as consecutive pieces of at most this length.
	MaxLineLength = 64 << 10
	// MaxFileSize is the size past which <resource>.log is rotated to
	// <resource>.log.1 (replacing an older one).
	MaxFileSize = 10 << 20
	// MaxPendingLines and MaxPendingBytes (as JSON) bound the lines
	// waiting to be written: while the disk fails, or when output comes
	// faster than the disk takes it. Past them the oldest waiting lines
	// are given up on (memory keeps them) and counted. A burst of one
	// Write (at most 32 KiB from a runtime's io.Copy) fits many times.
	MaxPendingLines = 100_000
	MaxPendingBytes = 32 << 20
	// SubscriberBuffer is how many lines a subscriber may lag behind
	// before it is dropped.
	SubscriberBuffer = 1024
	// FlushDelay is how long lines wait in memory to be written together.
	FlushDelay = 100 * time.Millisecond
	// RetryMin and RetryMax bound the backoff between two attempts to
	// write lines after a failed write.
	RetryMin = 250 * time.Millisecond
	RetryMax = 5 * time.Second
)

// Line is one line of output.
type Line struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Resource string    `json:"resource"`
	Stream   string    `json:"stream"` // Stdout, Stderr or Loop
	Text     string    `json:"text"`   // without the line ending
}

// Redactor hides secret values in what the Store keeps. *secret.Redactor
// implements it.
type Redactor interface {
	// Redact returns text (one of loop's own lines) with every value
	// replaced.
	Redact(text string) string
	// RedactStream appends to dst the redaction of the longest prefix of
	// src whose redaction is final and returns dst and that prefix's
	// length; the caller passes src[n:] again with the bytes that follow.
	// With atEOF, n == len(src). Piece by piece, the result equals Redact
	// of the whole stream.
	RedactStream(dst, src []byte, atEOF bool) ([]byte, int)
}

// limits are the Store's bounds; tests lower them.
type limits struct {
	resourceLines, resourceBytes, projectBytes int
	lineLength                                 int
	fileSize                                   int64
	pendingLines, pendingBytes                 int
}

// Store is the log of one project. It is safe for concurrent use.
type Store struct {
	dir    string
	lim    limits
	redact atomic.Pointer[redactorBox]

	mu     sync.Mutex // guards mem, seq, subs, disk and closed
	mem    memory     // the lines in memory, per resource
	seq    uint64     // last sequence number handed out
	subs   map[*subscriber]struct{}
	disk   diskQueue // lines waiting to be written, and the health of the files
	closed bool

	// The writing side: see persist.go.
	kick chan struct{} // wakes the flusher; buffered 1
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the flusher has returned
	io   fileIO        // only the flusher (or Close, after it) uses it
}

type redactorBox struct{ r Redactor }

// Open opens the log store in dir (created if needed), keeping the last
// resourceLines lines of each resource in memory (DefaultResourceLines if
// <= 0), and loads each resource's most recent persisted lines. Close it.
func Open(dir string, resourceLines int) (*Store, error) {
	lim := defaultLimits()
	if resourceLines > 0 {
		lim.resourceLines = resourceLines
	}
	return openWith(dir, lim)
}

func defaultLimits() limits {
	return limits{
		resourceLines: DefaultResourceLines, resourceBytes: ResourceBytes, projectBytes: ProjectBytes,
		lineLength: MaxLineLength, fileSize: MaxFileSize,
		pendingLines: MaxPendingLines, pendingBytes: MaxPendingBytes,
	}
}

func openWith(dir string, lim limits) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open logs: %w", err)
	}
	s := &Store{
		dir:  dir,
		lim:  lim,
		subs: make(map[*subscriber]struct{}),
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.mem.init(lim)
	s.disk.init()
	s.io.init(dir, lim.fileSize)
	lines, maxSeq, err := loadTails(dir, lim.resourceLines, 2*lim.resourceBytes)
	if err != nil {
		return nil, fmt.Errorf("open logs: %w", err)
	}
	for _, l := range lines {
		s.mem.push(l)
	}
	s.seq = maxSeq
	go s.flusher()
	return s, nil
}

// SetRedactor sets what hides secret values in every line stored from now
// on: Writers redact their byte stream with r.RedactStream, Append its
// text with r.Redact. nil removes it.
func (s *Store) SetRedactor(r Redactor) {
	if r == nil {
		s.redact.Store(nil)
		return
	}
	s.redact.Store(&redactorBox{r})
}

func (s *Store) redactor() Redactor {
	if b := s.redact.Load(); b != nil {
		return b.r
	}
	return nil
}

// Append stores one line of loop's own (text without its line ending) and
// returns it. The text is redacted as a whole. A text longer than
// MaxLineLength is stored as several lines; the last one is returned.
func (s *Store) Append(resource, stream, text string) Line {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if r := s.redactor(); r != nil {
		text = r.Redact(text)
	}
	pieces := cutLine(nil, text, s.lim.lineLength)
	s.mu.Lock()
	defer s.mu.Unlock()
	var l Line
	for _, p := range pieces {
		l = s.add(resource, stream, p)
	}
	return l
}

// add stores one line whose text is final: valid UTF-8, redacted, at most
// MaxLineLength. s.mu held.
func (s *Store) add(resource, stream, text string) Line {
	s.seq++
	l := Line{Seq: s.seq, Time: time.Now().Round(0), Resource: resource, Stream: stream, Text: text}
	s.mem.push(l)
	if !s.closed {
		s.enqueue(l)
	}
	s.publish(l)
	return l
}

// Query selects lines from memory.
type Query struct {
	Resources []string       // only these resources; none means all
	Tail      int            // only the last Tail matching lines; 0 means all
	Since     time.Time      // only lines at or after Since
	Grep      *regexp.Regexp // only lines whose text matches
	AfterSeq  uint64         // only lines with Seq > AfterSeq
}

// Query returns the matching lines in Seq order, merged across resources.
// Tail applies last.
func (s *Store) Query(q Query) []Line {
	s.mu.Lock()
	runs := s.mem.collect(q)
	s.mu.Unlock()
	// Outside the lock: a slow pattern must not block writers.
	return mergeRuns(runs, q)
}

type subscriber struct {
	ch chan Line
}

// Subscribe returns a channel that receives every line appended from now
// on, until ctx ends or the Store is closed; then it is closed.
//
// Writers never wait for subscribers: one that falls SubscriberBuffer lines
// behind is dropped and its channel closed early. A client that finds the
// channel closed while its ctx is still live fell behind; it can catch up
// with Query{AfterSeq: lastSeenSeq} and subscribe again (subscribe first,
// then query, and skip Seqs already seen).
func (s *Store) Subscribe(ctx context.Context) <-chan Line {
	sub := &subscriber{ch: make(chan Line, SubscriberBuffer)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		close(sub.ch)
		return sub.ch
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.drop(sub)
	})
	return sub.ch
}

// publish hands l to every subscriber without blocking. s.mu held.
func (s *Store) publish(l Line) {
	for sub := range s.subs {
		select {
		case sub.ch <- l:
		default:
			s.drop(sub) // fell behind
		}
	}
}

// drop removes sub and closes its channel. s.mu held.
func (s *Store) drop(sub *subscriber) {
	if _, ok := s.subs[sub]; ok {
		delete(s.subs, sub)
		close(sub.ch)
	}
}

// Close ends every subscription, stops the writing, makes a last attempt
// to write the waiting lines and returns an error if some could not be
// written. Lines appended after Close are kept in memory only.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for sub := range s.subs {
		s.drop(sub)
	}
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	s.flush() // the flusher has returned: this goroutine owns the files now
	s.mu.Lock()
	defer s.mu.Unlock()
	n, why := s.disk.len(), s.disk.health.Err
	for _, l := range s.disk.lost {
		n, why = n+l.n, cmp.Or(why, l.why)
	}
	if n > 0 {
		return fmt.Errorf("close logs in %s: %d lines not written to disk: %s", s.dir, n, why)
	}
	return nil
}
