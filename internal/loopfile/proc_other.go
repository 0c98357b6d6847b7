//go:build !unix && !windows

package loopfile

import (
	"context"
	"os"
	"os/exec"
)

// shellCommand runs script with `sh -c`.
func shellCommand(ctx context.Context, script string) *exec.Cmd {
	return exec.CommandContext(ctx, "sh", "-c", script)
}

// startTree starts cmd. Where process groups are not available only the
// command itself is killed on cancellation.
func startTree(cmd *exec.Cmd) error { return cmd.Start() }

// openRegular opens path; where there are no FIFOs that block in open,
// a plain open is enough. The caller checks that the file is regular.
func openRegular(path string) (*os.File, error) { return os.Open(path) }
