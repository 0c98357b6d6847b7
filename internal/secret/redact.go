package secret

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// MinRedactLen is the shortest value redacted: shorter values would
// replace too much ordinary text.
const MinRedactLen = 4

// Redactor replaces registered values with "[redacted:NAME]". It is safe
// for concurrent use; the zero value redacts nothing.
type Redactor struct {
	mu       sync.RWMutex
	names    map[string]string // value -> secret name
	replacer *strings.Replacer
}

// Add registers value as the secret name's. Values shorter than
// MinRedactLen are ignored. The JSON-escaped form is registered too, so
// that values survive in encoded snapshots and events.
func (r *Redactor) Add(name, value string) {
	if len(value) < MinRedactLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]string{}
	}
	r.names[value] = name
	if b, err := json.Marshal(value); err == nil {
		if esc := string(b[1 : len(b)-1]); esc != value {
			r.names[esc] = name
		}
	}
	values := make([]string, 0, len(r.names))
	for v := range r.names {
		values = append(values, v)
	}
	// Longest first, so a value containing another is replaced whole.
	sort.Slice(values, func(i, j int) bool {
		if len(values[i]) != len(values[j]) {
			return len(values[i]) > len(values[j])
		}
		return values[i] < values[j]
	})
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, "[redacted:"+r.names[v]+"]")
	}
	r.replacer = strings.NewReplacer(pairs...)
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
