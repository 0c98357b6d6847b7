//go:build unix && !linux

package process

import (
	"os/exec"
	"syscall"
)

// StartCommand starts cmd in its own process group. Parent-death signals
// exist only on Linux; elsewhere the reaper and ReapOrphans are the safety
// nets.
func StartCommand(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	return cmd.Start()
}
