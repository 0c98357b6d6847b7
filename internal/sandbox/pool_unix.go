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
// request), hands it to the next Load and starts another in the
// background. A child still evaluates once and exits; a Load that finds
// none idle (another took it, or it is still starting) starts its own.
// The zero Pool is not usable: call NewPool; a nil *Pool evaluates as Load.
//
// Pool is safe for concurrent use. Its one goroutine, the one starting the
// next child, is waited for by Close.
type Pool struct {
	// idle holds the child waiting for an evaluation, if any. Only the
	// starter goroutine sends, and one runs at a time, when idle is empty,
	// so a send never blocks.
	idle chan *child

	mu       sync.Mutex // guards starting and closed
	starting bool       // the starter goroutine runs
	closed   bool
	wg       sync.WaitGroup // the starter goroutine
}

// NewPool returns a Pool and starts its first evaluator. Close it to end
// the idle evaluator.
func NewPool() *Pool {
	p := &Pool{idle: make(chan *child, 1)}
	p.mu.Lock()
	p.startNextLocked()
	p.mu.Unlock()
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
// started now would, and starts the next one.
func (p *Pool) take() *child {
	p.mu.Lock()
	var c *child
	select {
	case c = <-p.idle:
	default:
	}
	p.startNextLocked()
	p.mu.Unlock()
	if c == nil {
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

// startNextLocked starts the goroutine that starts the next idle child,
// unless it runs already or the Pool is closed. p.mu is held.
func (p *Pool) startNextLocked() {
	if p.starting || p.closed {
		return
	}
	p.starting = true
	p.wg.Go(func() {
		c, err := startChild()
		p.mu.Lock()
		p.starting = false
		closed := p.closed
		if err == nil && !closed {
			p.idle <- c
		}
		p.mu.Unlock()
		// A child that cannot start is not retried here: the next Load
		// starts one itself (and says why if that fails too), and this
		// goroutine again.
		if err == nil && closed {
			c.discard()
		}
	})
}
