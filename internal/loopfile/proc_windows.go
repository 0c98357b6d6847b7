package loopfile

import (
	"context"
	"os"
	"os/exec"
	"syscall"

	"github.com/loopdev/loop/internal/runtime/process"
)

// shellCommand runs script the way Windows users expect a command string
// to run (Tilt's local() does the same): with cmd.exe, found through
// %ComSpec%, as `cmd /S /C "script"`. The command line is passed as is
// (SysProcAttr.CmdLine) because cmd.exe does not parse its arguments the
// way Go would quote them: /S strips the outer quotes and runs the rest
// verbatim, so the script's own quotes reach cmd.exe untouched.
func shellCommand(ctx context.Context, script string) *exec.Cmd {
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = "cmd.exe"
	}
	cmd := exec.CommandContext(ctx, comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd /S /C "` + script + `"`}
	return cmd
}

// startTree starts cmd in a job object of its own (process.StartCommand):
// when cancellation kills cmd, or cmd ends, whatever it started is killed
// with it, so a timed-out local() leaves no orphans (cmd.exe running ping,
// say) holding the project directory open.
func startTree(cmd *exec.Cmd) error { return process.StartCommand(cmd) }

// openRegular opens path; where there are no FIFOs that block in open,
// a plain open is enough. The caller checks that the file is regular.
func openRegular(path string) (*os.File, error) { return os.Open(path) }
