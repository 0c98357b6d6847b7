//go:build unix && !linux

package process

import (
	"os/exec"
	"syscall"
)

// StartCommand starts cmd in its own process group. Parent-death signals
// exist only on Linux; elsewhere ReapOrphans is the only safety net.
func StartCommand(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	return cmd.Start()
}
