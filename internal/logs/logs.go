// Package logs keeps the output of a project's resources: every line a
// service or task prints, plus loop's own messages about it ("restarting:
// main.go changed").
//
// A Store holds the last ringSize lines of the whole project in memory, in
// one ring ordered by a sequence number that never goes back, so clients
// can page and resume (Query with AfterSeq). Every line is also appended as
// JSON to <dir>/<resource>.log, rotated to <resource>.log.1 past a size
// limit; Open reads the tails of those files back, so logs survive a daemon
// restart and sequence numbers continue where they stopped.
//
// Writes go to memory first: a Query right after Append sees the line. The
// files are written through a buffer flushed within flushDelay and on
// Close, so a daemon that is killed may lose the last 100ms of persisted
// lines, never the ones in memory of a running daemon.
package logs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Streams of a Line.
const (
	Stdout = "stdout"
	Stderr = "stderr"
	Loop   = "loop" // messages from loop itself about the resource
)

// Defaults and limits.
const (
	DefaultRingSize = 10_000
	// MaxFileSize is the size past which <resource>.log is rotated to
	// <resource>.log.1 (replacing an older one).
	MaxFileSize = 10 << 20
	// MaxLineLength is the longest line a Writer buffers; a longer one is
	// split.
	MaxLineLength = 64 << 10
	// SubscriberBuffer is how many lines a subscriber may lag behind
	// before it is dropped.
	SubscriberBuffer = 1024

	flushDelay = 100 * time.Millisecond
)

// Line is one line of output.
type Line struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Resource string    `json:"resource"`
	Stream   string    `json:"stream"` // Stdout, Stderr or Loop
	Text     string    `json:"text"`   // without the line ending
}

// Store is the log of one project. It is safe for concurrent use.
type Store struct {
	dir         string
	maxFileSize int64

	mu         sync.Mutex
	ring       []Line // circular; len(ring) is the capacity
	head, n    int    // index of the oldest line, number of lines
	seq        uint64 // last sequence number handed out
	files      map[string]*logFile
	subs       map[*subscriber]struct{}
	redact     func(string) string
	flushTimer *time.Timer // non-nil while a flush is scheduled
	errs       []error     // persistence errors, returned by Close
	closed     bool
}

// Open opens the log store in dir (created if needed) keeping ringSize
// lines in memory (DefaultRingSize if <= 0), and loads the most recent
// persisted lines.
func Open(dir string, ringSize int) (*Store, error) {
	if ringSize <= 0 {
		ringSize = DefaultRingSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open logs: %w", err)
	}
	s := &Store{
		dir:         dir,
		maxFileSize: MaxFileSize,
		ring:        make([]Line, ringSize),
		files:       make(map[string]*logFile),
		subs:        make(map[*subscriber]struct{}),
	}
	lines, maxSeq, err := loadTails(dir, ringSize)
	if err != nil {
		return nil, fmt.Errorf("open logs: %w", err)
	}
	for _, l := range lines {
		s.push(l)
	}
	s.seq = maxSeq
	return s, nil
}

// SetRedactor sets a function applied to every line's text before it is
// stored (to hide secret values). nil removes it.
func (s *Store) SetRedactor(f func(string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redact = f
}

// Append stores one line (text without its line ending) and returns it.
func (s *Store) Append(resource, stream, text string) Line {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.redact != nil {
		text = s.redact(text)
	}
	s.seq++
	l := Line{Seq: s.seq, Time: time.Now().Round(0), Resource: resource, Stream: stream, Text: text}
	s.push(l)
	if !s.closed {
		if err := s.persist(l); err != nil && len(s.errs) < 10 {
			s.errs = append(s.errs, err)
		}
	}
	s.publish(l)
	return l
}

// push adds l to the ring, dropping the oldest line when full. s.mu held.
func (s *Store) push(l Line) {
	if s.n < len(s.ring) {
		s.ring[(s.head+s.n)%len(s.ring)] = l
		s.n++
		return
	}
	s.ring[s.head] = l
	s.head = (s.head + 1) % len(s.ring)
}

// Query selects lines from memory.
type Query struct {
	Resources []string       // only these resources; none means all
	Tail      int            // only the last Tail matching lines; 0 means all
	Since     time.Time      // only lines at or after Since
	Grep      *regexp.Regexp // only lines whose text matches
	AfterSeq  uint64         // only lines with Seq > AfterSeq
}

// Query returns the matching lines in Seq order. Tail applies last.
func (s *Store) Query(q Query) []Line {
	s.mu.Lock()
	var out []Line
	for i := range s.n {
		l := s.ring[(s.head+i)%len(s.ring)]
		if l.Seq <= q.AfterSeq ||
			(!q.Since.IsZero() && l.Time.Before(q.Since)) ||
			(len(q.Resources) > 0 && !slices.Contains(q.Resources, l.Resource)) {
			continue
		}
		out = append(out, l)
	}
	s.mu.Unlock()

	if q.Grep != nil { // outside the lock: a slow pattern must not block writers
		out = slices.DeleteFunc(out, func(l Line) bool { return !q.Grep.MatchString(l.Text) })
	}
	if q.Tail > 0 && len(out) > q.Tail {
		out = out[len(out)-q.Tail:]
	}
	return out
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

// Close flushes and closes the files and ends every subscription. It
// returns the errors met while persisting lines. Lines appended after
// Close are kept in memory only.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	errs := s.errs
	for _, f := range s.files {
		if err := f.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for sub := range s.subs {
		s.drop(sub)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close logs: %w", err)
	}
	return nil
}
