//go:build unix

package loopfile

import (
	"context"
	"os"
	"os/exec"
	"syscall"
)

// shellCommand runs script with `sh -c`.
func shellCommand(ctx context.Context, script string) *exec.Cmd {
	return exec.CommandContext(ctx, "sh", "-c", script)
}

// startTree starts cmd in its own process group and makes cancellation
// kill the whole group, so a timed-out local() leaves no orphans. Where
// the platform allows, the command also dies with the evaluating process
// (setDeathSignal), so a killed evaluator leaves none either.
func startTree(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd.Start()
}

// openRegular opens path for reading without blocking: opening a FIFO
// with no writer blocks in open(2) otherwise. The caller checks that the
// opened file is regular; reads from a regular file are then made
// blocking again, as they normally are.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Mode().IsRegular() {
		if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}
