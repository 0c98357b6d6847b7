//go:build unix && !linux

package process

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// GuardArg: see guard_linux.go. Without parent-death signals a guard cannot
// notice the daemon's death, so here it only execs the command.
const GuardArg = "__loop-guard"

// GuardMain execs the command (PATH ARGV0 [ARGS...]).
func GuardMain(argv []string) int {
	if len(argv) < 2 {
		fmt.Fprintln(os.Stderr, "loop guard: usage: "+GuardArg+" PATH ARGV0 [ARGS...]")
		return 2
	}
	err := syscall.Exec(argv[0], argv[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "loop guard: %v\n", err)
	return 127
}

func guarded(_ []string, cmd *exec.Cmd) *exec.Cmd { return cmd }
