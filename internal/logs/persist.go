package logs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"
)

// Health is the state of a Store's files.
type Health struct {
	// Err says why lines are not being written, naming the file; "" while
	// they are.
	Err string
	// Since is when writing began to fail; zero while healthy.
	Since time.Time
	// Pending is how many lines wait in memory to be written (at most
	// MaxPendingLines, plus those being written).
	Pending int
	// Dropped is how many lines were given up on since Open: they were
	// never written to disk (memory may still hold them).
	Dropped uint64
}

// OK reports whether the files are being written.
func (h Health) OK() bool { return h.Err == "" }

// String describes h for loop status, loop doctor and loopd.log: what
// fails, where, what happens meanwhile and what to do.
func (h Health) String() string {
	if h.OK() {
		if h.Dropped > 0 {
			return fmt.Sprintf("logs are written (%d lines were not: marker lines in the logs say which and why)", h.Dropped)
		}
		return "logs are written"
	}
	return fmt.Sprintf("logs not written to disk since %s: %s; %d lines wait in memory (at most %d, MaxPendingLines), %d given up on; "+
		"free space or fix the directory: writing resumes by itself within %s",
		h.Since.Format(time.TimeOnly), h.Err, h.Pending, MaxPendingLines, h.Dropped, RetryMax)
}

// Health returns the state of the Store's files.
func (s *Store) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.disk.health
	h.Pending = s.disk.len() + s.disk.inflight
	return h
}

// Changed returns a channel that is closed the next time Health changes:
// writing fails, fails with another error, resumes, or begins to give up
// on lines. Pending and Dropped change without a signal in between; read
// Health. Take the channel before reading Health, so no change is missed.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk.changed
}

// pending is a line waiting to be written.
type pending struct {
	resource string
	seq      uint64
	data     []byte // the JSON line with its "\n"
}

// loss counts the lines of one resource given up on since its file was
// last written.
type loss struct {
	n           int
	first, last uint64 // Seq range
	why         string
}

// diskQueue is the lines waiting to be written, and the health of the
// files. Guarded by Store.mu.
type diskQueue struct {
	wait      []pending // wait[head:] wait, oldest first
	head      int
	bytes     int              // of the waiting lines
	inflight  int              // lines a running flush took
	scheduled bool             // the flusher was kicked for the waiting lines
	urgent    bool             // the queue is half full: write now, not after FlushDelay
	health    Health           // Pending unused
	lost      map[string]*loss // by resource
	changed   chan struct{}    // closed at the next change of health
}

func (q *diskQueue) init() {
	q.lost = make(map[string]*loss)
	q.changed = make(chan struct{})
}

func (q *diskQueue) len() int { return len(q.wait) - q.head }

func (q *diskQueue) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// enqueue puts l in line to be written and wakes the flusher. s.mu held.
func (s *Store) enqueue(l Line) {
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for a Line; counted, never silent
		s.giveUp(pending{resource: l.Resource, seq: l.Seq}, fmt.Sprintf("encode line: %v", err))
		return
	}
	q := &s.disk
	q.wait = append(q.wait, pending{resource: l.Resource, seq: l.Seq, data: append(b, '\n')})
	q.bytes += len(b) + 1
	s.bound()
	if q.health.OK() && !q.urgent && (q.len() >= s.lim.pendingLines/2 || q.bytes >= s.lim.pendingBytes/2) {
		q.urgent = true
		q.scheduled = false // kick again: now
	}
	if !q.scheduled {
		q.scheduled = true
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// bound gives up on the oldest waiting lines past MaxPendingLines or
// MaxPendingBytes. s.mu held.
func (s *Store) bound() {
	q := &s.disk
	for q.len() > 0 && (q.len() > s.lim.pendingLines || q.bytes > s.lim.pendingBytes) {
		limit := fmt.Sprintf("more than %d lines waited to be written (MaxPendingLines)", s.lim.pendingLines)
		if q.len() <= s.lim.pendingLines {
			limit = fmt.Sprintf("more than %d bytes waited to be written (MaxPendingBytes)", s.lim.pendingBytes)
		}
		p := q.wait[q.head]
		q.wait[q.head] = pending{}
		q.head++
		q.bytes -= len(p.data)
		s.giveUp(p, limit+": "+cmp.Or(q.health.Err, "the output came faster than the disk took it"))
	}
	if q.head > len(q.wait)/2 {
		n := copy(q.wait, q.wait[q.head:])
		clear(q.wait[n:])
		q.wait, q.head = q.wait[:n], 0
	}
}

// giveUp counts p as never to be written. s.mu held.
func (s *Store) giveUp(p pending, why string) {
	q := &s.disk
	l := q.lost[p.resource]
	if l == nil {
		l = &loss{first: p.seq}
		q.lost[p.resource] = l
	}
	l.n++
	l.first, l.last, l.why = min(l.first, p.seq), max(l.last, p.seq), why
	q.health.Dropped++
	if len(q.lost) == 1 && l.n == 1 { // the first loss since the last marker
		q.signal()
	}
}

// take moves the waiting lines out for writing. s.mu held.
func (q *diskQueue) take() []pending {
	batch := q.wait[q.head:]
	q.wait, q.head, q.bytes = nil, 0, 0
	q.inflight = len(batch)
	q.scheduled, q.urgent = false, false
	return batch
}

// flusher writes the waiting lines FlushDelay after the first of a batch
// arrives (at once when the queue is half full), and after a failed write
// retries with a backoff from RetryMin to RetryMax, or sooner when new
// lines arrive. It owns the timer and s.io; Close stops it.
func (s *Store) flusher() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due time.Time // when timer fires; zero when it is stopped
	arm := func(d time.Duration) {
		if at := time.Now().Add(d); due.IsZero() || at.Before(due) {
			timer.Reset(d)
			due = at
		}
	}
	backoff := RetryMin
	for {
		select {
		case <-s.quit:
			timer.Stop()
			return
		case <-s.kick:
			s.mu.Lock()
			urgent := s.disk.urgent
			s.mu.Unlock()
			if urgent {
				arm(0)
			} else {
				arm(FlushDelay)
			}
		case <-timer.C:
			due = time.Time{}
			if s.flush() {
				backoff = RetryMin
				continue
			}
			arm(backoff)
			backoff = min(2*backoff, RetryMax)
		}
	}
}

// flush writes the waiting lines, one file after another, and reports
// whether all were written. Lines that were not wait again, before the
// ones that arrived meanwhile. Only the flusher calls it (Close after the
// flusher has returned).
func (s *Store) flush() bool {
	s.mu.Lock()
	batch := s.disk.take()
	s.mu.Unlock()
	if len(batch) == 0 {
		return true // nothing tried: the health stays as it was
	}

	byRes := make(map[string][]pending)
	var order []string // resources by their first line in batch
	for _, p := range batch {
		if _, ok := byRes[p.resource]; !ok {
			order = append(order, p.resource)
		}
		byRes[p.resource] = append(byRes[p.resource], p)
	}
	written := make(map[string]int, len(order))
	var firstErr error // of the resource whose first waiting line is oldest
	for _, res := range order {
		n, err := s.io.write(res, byRes[res])
		written[res] = n
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	q := &s.disk
	var again []pending
	seen := make(map[string]int, len(order))
	for _, p := range batch {
		if seen[p.resource] >= written[p.resource] {
			again = append(again, p)
		}
		seen[p.resource]++
	}
	q.inflight = 0
	if len(again) > 0 {
		for _, p := range again {
			q.bytes += len(p.data)
		}
		q.wait = append(again, q.wait[q.head:]...)
		q.head = 0
	}
	s.setErr(firstErr)
	s.bound()
	// Say in each resource's log how many of its lines its file lacks,
	// once the file is written again (after Close, Close says it).
	for res, l := range q.lost {
		if s.closed {
			break
		}
		ok := firstErr == nil
		if lines, in := byRes[res]; in {
			ok = written[res] == len(lines)
		}
		if !ok {
			continue
		}
		delete(q.lost, res)
		s.add(res, Loop, fmt.Sprintf("loop: %d lines (seq %d to %d) were not written to disk, only kept in memory: %s", l.n, l.first, l.last, l.why))
	}
	return firstErr == nil
}

// setErr records the outcome of a flush in the health. s.mu held.
func (s *Store) setErr(err error) {
	h := &s.disk.health
	switch {
	case err == nil && h.Err == "":
		return
	case err == nil:
		h.Err, h.Since = "", time.Time{}
	case h.Err == "":
		h.Err, h.Since = err.Error(), time.Now()
	case h.Err == err.Error():
		return
	default:
		h.Err = err.Error()
	}
	s.disk.signal()
}
