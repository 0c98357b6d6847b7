//go:build unix

package sandbox

import (
	"context"
	"slices"
	"sync"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// Pool evaluates as Load does, through an evaluator started ahead of time:
// it keeps one child idle (started, initialised, blocked reading its
// request) and hands it to the next Load. A child still evaluates once
// and exits; a Load that finds none idle (a concurrent Load took it)
// starts its own. The next idle child is started when an evaluation ends,
// not when it begins: on a small machine its start (tens of milliseconds
// of CPU) would compete with the evaluation, and with the watch that
// stops it at its memory limit. A Load that comes while it starts takes
// it as it is: it is never further from ready than a child started then.
//
// The zero Pool is not usable: call NewPool. A nil *Pool evaluates as
// Load. Pool is safe for concurrent use; its one goroutine, the one
// starting the next child, is waited for by Close.
type Pool struct {
	// idle holds the child waiting for an evaluation, if any. Only the
	// starter goroutine sends, one at a time, and only while idle is
	// empty, so a send never blocks.
	idle chan *child

	mu       sync.Mutex     // guards starting and closed
	starting chan struct{}  // while the starter runs; closed when it is done
	closed   bool           // by Close: nothing more is started
	wg       sync.WaitGroup // the starter goroutine
}

// NewPool returns a Pool and starts its first evaluator. Close it to end
// the idle evaluator.
func NewPool() *Pool {
	p := &Pool{idle: make(chan *child, 1)}
	p.startNext()
	return p
}

// Load evaluates the Loopfile at path as the package's Load does, in the
// idle evaluator if there is one.
func (p *Pool) Load(ctx context.Context, path string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	if p == nil {
		return Load(ctx, path, opts, lim)
	}
	abs, lim, err := prepare(path, lim)
	if err != nil {
		return nil, err
	}
	defer p.startNext()
	c := p.take()
	if c == nil {
		if c, err = startChild(); err != nil {
			return nil, startFailed(abs, err)
		}
	}
	return c.evaluate(ctx, abs, opts, lim)
}

// Close ends the idle evaluator and waits for it. Evaluations in progress
// are their callers' and go on; Loads after Close start their own
// evaluators.
func (p *Pool) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait() // the starter, seeing closed, ends its child itself
	select {
	case c := <-p.idle:
		c.discard()
	default:
	}
	return nil
}

// take returns the idle child, if there is one that evaluates as a child
// started now would.
func (p *Pool) take() *child {
	p.mu.Lock()
	starting := p.starting
	p.mu.Unlock()
	if starting != nil {
		<-starting // it forks and execs, no more: the child is ours in a moment
	}
	var c *child
	select {
	case c = <-p.idle:
	default:
		return nil
	}
	select {
	case <-c.exited: // killed while idle (it is the OOM killer's first choice)
		c.discard()
		return nil
	default:
	}
	if !slices.Equal(c.env, childEnv()) {
		// The environment it keeps (keepEnv) changed since it started.
		c.discard()
		return nil
	}
	return c
}

// startNext starts the next idle child in the background, unless there is
// one, one is starting or the Pool is closed.
func (p *Pool) startNext() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) > 0 || p.starting != nil || p.closed {
		return
	}
	done := make(chan struct{})
	p.starting = done
	p.wg.Go(func() {
		defer close(done)
		c, err := startChild()
		p.mu.Lock()
		p.starting = nil
		closed := p.closed
		if err == nil && !closed {
			p.idle <- c
		}
		p.mu.Unlock()
		// A child that cannot start is not retried here: the next Load
		// starts one itself (and says why if that fails too), then this
		// goroutine again.
		if err == nil && closed {
			c.discard()
		}
	})
}
