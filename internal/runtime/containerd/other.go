//go:build !linux

package containerd

import (
	"context"
	"errors"
	"log/slog"

	"github.com/loopdev/loop/internal/runtime"
)

// errLinuxOnly is what every use of the runtime returns off Linux: it runs
// containers through a local containerd, its networks through CNI and its
// live update through /proc/<pid>/root.
var errLinuxOnly = errors.New("the containerd runtime runs on Linux only; use Docker (unset LOOP_CONTAINER_RUNTIME)")

// Runtime is the containerd runtime's stand-in on other systems: its
// callers compile unchanged, and each use fails with errLinuxOnly.
type Runtime struct {
	Logger *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// Start fails: containerd runs on Linux only.
func (r *Runtime) Start(context.Context, runtime.Spec) (runtime.Handle, error) {
	return nil, errLinuxOnly
}

// Exec fails: containerd runs on Linux only.
func (r *Runtime) Exec(context.Context, string, runtime.ExecSpec) (int, error) {
	return -1, errLinuxOnly
}

// Close has nothing to release.
func (r *Runtime) Close() error { return nil }
