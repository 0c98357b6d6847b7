// Package tail keeps the last lines written to a writer: the output a
// failed command's error carries.
package tail

import (
	"strings"
	"sync"
)

// Lines is an io.Writer that keeps the last lines written to it (a last
// line without a newline included). It is safe for concurrent writes.
type Lines struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

// New returns a Lines that keeps max lines.
func New(max int) *Lines { return &Lines{max: max} }

func (t *Lines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	parts := strings.Split(t.part+string(p), "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if len(t.lines) > t.max {
		t.lines = append([]string(nil), t.lines[len(t.lines)-t.max:]...)
	}
	return len(p), nil
}

// String is the kept lines joined by newlines.
func (t *Lines) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part != "" {
		lines = append(append([]string(nil), lines...), t.part)
		if len(lines) > t.max {
			lines = lines[len(lines)-t.max:]
		}
	}
	return strings.Join(lines, "\n")
}
