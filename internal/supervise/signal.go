//go:build unix

package supervise

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/loopdev/loop/internal/signame"
)

// signalMain is `__signal SIG [PID]`: it sends SIG (a name like SIGTERM
// or a number) to PID, by default 1, the supervisor. It is how loop
// signals a container it can only reach through exec (a Kubernetes pod),
// in images that have no kill binary.
func signalMain(args []string, stderr io.Writer) int {
	ops := operands(args)
	if len(ops) < 1 || len(ops) > 2 {
		fmt.Fprintln(stderr, "loop __signal: usage: __signal SIG [PID]")
		return 2
	}
	sig, err := signame.Parse(ops[0])
	if err != nil {
		fmt.Fprintf(stderr, "loop __signal: %q: %v\n", ops[0], err)
		return 2
	}
	pid := 1
	if len(ops) == 2 {
		if pid, err = strconv.Atoi(ops[1]); err != nil || pid <= 0 {
			fmt.Fprintf(stderr, "loop __signal: pid %q: want a positive number\n", ops[1])
			return 2
		}
	}
	if err := syscall.Kill(pid, sig); err != nil {
		fmt.Fprintf(stderr, "loop __signal: signal %d to pid %d: %v\n", sig, pid, err)
		return 1
	}
	return 0
}

// idMain is `__id`: it prints the uid and gid it runs as, "UID GID", so
// that loop learns the owner synced files get in a container it reaches
// only through exec (which runs as the container's user).
func idMain(args []string, stdout, stderr io.Writer) int {
	if len(operands(args)) != 0 {
		fmt.Fprintln(stderr, "loop __id: no arguments expected")
		return 2
	}
	fmt.Fprintf(stdout, "%d %d\n", os.Getuid(), os.Getgid())
	return 0
}

// signalSupervisor sends sig to PID 1.
func signalSupervisor(sig syscall.Signal) error {
	if err := CheckFrameSignal(sig); err != nil {
		return err
	}
	if err := syscall.Kill(1, sig); err != nil {
		return fmt.Errorf("signal %d to pid 1: %w", sig, err)
	}
	return nil
}
