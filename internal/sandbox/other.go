//go:build !unix

package sandbox

import (
	"context"
	"fmt"
	"os"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// childMarker: see parent_unix.go.
const childMarker = "LOOP_EVALUATOR"

// Main is not used where there is no evaluator process yet.
func Main() int {
	fmt.Fprintln(os.Stderr, "loop evaluator: not supported on this platform")
	return 3
}

// run evaluates in process where there is no evaluator process yet
// (Windows: no inherited fd 3): the time limit holds, the memory limit
// and crash isolation do not.
func run(ctx context.Context, abs string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, lim.Timeout, &loopfile.Stop{
		Msg:  fmt.Sprintf("evaluation took longer than the limit of %s (%s)", lim.Timeout, EnvTimeout),
		Hint: "if the Loopfile really needs longer, raise " + EnvTimeout,
	})
	defer cancel()
	return loopfile.Load(ctx, abs, opts)
}

// Pool evaluates as Load does; where there is no evaluator process, there
// is nothing to start ahead of time.
type Pool struct{}

// NewPool returns a Pool.
func NewPool() *Pool { return &Pool{} }

// Load evaluates as the package's Load does.
func (p *Pool) Load(ctx context.Context, path string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	return Load(ctx, path, opts, lim)
}

// Close does nothing here.
func (p *Pool) Close() error { return nil }
