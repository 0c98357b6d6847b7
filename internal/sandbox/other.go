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
