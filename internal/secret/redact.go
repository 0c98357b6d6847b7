package secret

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// MinRedactLen is the shortest value redacted: shorter values would
// replace too much ordinary text.
const MinRedactLen = 4

// Redactor replaces registered values with "[redacted:NAME]". It is safe
// for concurrent use; the zero value redacts nothing.
//
// Redact works on a whole text. RedactStream works on a byte stream that
// arrives in pieces (a process's output): it passes on at once everything
// that can no longer become part of a value, and holds back only what
// could, so a value split across writes, across lines or containing a
// newline (a PEM key) is still replaced. Both give the same result as
// replacing in the whole stream at once: leftmost match first and, of the
// values starting there, the longest.
type Redactor struct {
	mu       sync.RWMutex
	names    map[string]string // value -> secret name
	replacer *strings.Replacer
	values   []value // longest first
}

// value is one registered value and its replacement.
type value struct {
	b   []byte
	rep string
}

// Add registers value as the secret name's. Values shorter than
// MinRedactLen are ignored. The JSON-escaped form is registered too, so
// that values survive in encoded snapshots and events. Streams already
// open see the value from their next call on.
func (r *Redactor) Add(name, v string) {
	if len(v) < MinRedactLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]string{}
	}
	r.names[v] = name
	if b, err := json.Marshal(v); err == nil {
		if esc := string(b[1 : len(b)-1]); esc != v {
			r.names[esc] = name
		}
	}
	vs := make([]string, 0, len(r.names))
	for v := range r.names {
		vs = append(vs, v)
	}
	// Longest first, so a value containing another is replaced whole.
	slices.SortFunc(vs, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(vs))
	values := make([]value, 0, len(vs))
	for _, v := range vs {
		rep := "[redacted:" + r.names[v] + "]"
		pairs = append(pairs, v, rep)
		values = append(values, value{b: []byte(v), rep: rep})
	}
	// New slices, never changed in place: streams read them without the lock.
	r.replacer = strings.NewReplacer(pairs...)
	r.values = values
}

// Redact returns s with every registered value replaced.
func (r *Redactor) Redact(s string) string {
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// RedactStream redacts a byte stream that arrives in pieces, in the manner
// of golang.org/x/text/transform: it appends to dst the redaction of the
// longest prefix of src whose redaction is final, and returns dst and the
// length of that prefix. The caller keeps src[n:] and passes it again,
// followed by the next bytes of the stream, in the next call. What is kept
// is a suffix of src shorter than the longest value: the bytes from where
// a value could still start and be completed by what follows. At the end
// of the stream (atEOF) all of src is redacted and n == len(src).
//
// Redacting a stream piece by piece gives the same bytes as Redact on the
// whole stream, as long as no value is added in between.
func (r *Redactor) RedactStream(dst, src []byte, atEOF bool) ([]byte, int) {
	r.mu.RLock()
	values := r.values
	r.mu.RUnlock()
	if len(values) == 0 {
		return append(dst, src...), len(src)
	}
	var hold []int // positions where a value could start and run past src
	if !atEOF {
		hold = undecided(src, values)
	}
	next := make([]int, len(values)) // next[i]: where values[i] next occurs at or after pos
	for i := range next {
		next[i] = -1 // not searched yet
	}
	pos, last := 0, 0 // scan position; src[last:pos] is passed on as is
	for {
		// The leftmost occurrence at or after pos; at equal starts the
		// longest, which comes first in values.
		start, best := len(src), -1
		for i, v := range values {
			if next[i] != len(src) && next[i] < pos {
				if k := bytes.Index(src[pos:], v.b); k >= 0 {
					next[i] = pos + k
				} else {
					next[i] = len(src)
				}
			}
			if next[i] < start {
				start, best = next[i], i
			}
		}
		// Stop at the first position where the outcome is not known yet:
		// a value may start there and continue past src.
		for len(hold) > 0 && hold[0] < pos {
			hold = hold[1:]
		}
		if len(hold) > 0 && hold[0] <= start {
			return append(dst, src[last:hold[0]]...), hold[0]
		}
		if best < 0 {
			return append(dst, src[last:]...), len(src)
		}
		dst = append(dst, src[last:start]...)
		dst = append(dst, values[best].rep...)
		pos = start + len(values[best].b)
		last = pos
	}
}

// undecided returns, in increasing order, the positions i in src where
// src[i:] is a proper prefix of a value: a value may start there, and only
// the bytes after src tell.
func undecided(src []byte, values []value) []int {
	var out []int
	for _, v := range values {
		lo := len(src) - min(len(v.b)-1, len(src))
		for i := lo; i < len(src); i++ {
			k := bytes.IndexByte(src[i:], v.b[0])
			if k < 0 {
				break
			}
			i += k
			if bytes.HasPrefix(v.b, src[i:]) {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Empty reports whether no value is registered.
func (r *Redactor) Empty() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.replacer == nil
}

// RedactJSON returns v with every registered value replaced in its JSON
// encoding (v must round-trip through encoding/json).
func RedactJSON[T any](r *Redactor, v T) T {
	if r == nil || r.Empty() {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	red := r.Redact(string(b))
	if red == string(b) {
		return v
	}
	var out T
	if err := json.Unmarshal([]byte(red), &out); err != nil {
		return v
	}
	return out
}
