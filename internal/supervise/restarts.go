package supervise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
)

// The lines the supervisor writes to stderr after a restart in place.
// Runtimes watch the container's stderr for them (see Restarts) to know
// when the new service process runs: only then may readiness be probed,
// or the old process could answer the probe.
const (
	RestartedPrefix     = "loop supervise: restarted "
	RestartFailedPrefix = "loop supervise: restart: "
)

// Restarts passes a container's stderr through to W and counts the
// supervisor's restart lines in it.
type Restarts struct {
	w io.Writer

	mu      sync.Mutex
	line    []byte // partial line
	n       int    // restarts seen
	failure error  // set when the last restart failed
	changed chan struct{}
}

// NewRestarts returns a Restarts writing through to w.
func NewRestarts(w io.Writer) *Restarts {
	return &Restarts{w: w, changed: make(chan struct{})}
}

func (r *Restarts) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.line = append(r.line, p...)
	for {
		i := bytes.IndexByte(r.line, '\n')
		if i < 0 {
			break
		}
		r.observe(string(r.line[:i]))
		r.line = r.line[i+1:]
	}
	if len(r.line) > 4096 { // not a supervisor line: don't buffer it
		r.line = r.line[:0]
	}
	r.mu.Unlock()
	return r.w.Write(p)
}

func (r *Restarts) observe(line string) {
	switch {
	case strings.HasPrefix(line, RestartedPrefix):
		r.failure = nil
	case strings.HasPrefix(line, RestartFailedPrefix):
		r.failure = errors.New(strings.TrimPrefix(line, "loop supervise: "))
	default:
		return
	}
	r.n++
	close(r.changed)
	r.changed = make(chan struct{})
}

// Count is the number of restarts seen so far; pass it to Wait before
// asking for a restart.
func (r *Restarts) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// ErrStopped is returned by Wait when the container stopped instead of
// restarting its service.
var ErrStopped = errors.New("the container stopped")

// Wait blocks until a restart after the count `after` has been seen and
// returns its error (the command could not start again), or ErrStopped
// once stopped is closed, or ctx's error.
func (r *Restarts) Wait(ctx context.Context, after int, stopped <-chan struct{}) error {
	for {
		r.mu.Lock()
		n, failure, changed := r.n, r.failure, r.changed
		r.mu.Unlock()
		if n > after {
			return failure
		}
		select {
		case <-changed:
		case <-stopped:
			return ErrStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
