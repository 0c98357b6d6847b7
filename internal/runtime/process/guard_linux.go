//go:build linux

package process

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// GuardArg is the first argument that makes loop's binaries run as a guard
// (see Runtime.Guard); cmd/loop and cmd/loopd dispatch on it before
// anything else.
const GuardArg = "__loop-guard"

// guardSignal is the parent-death signal of a guard: a real-time signal
// nothing else sends, so the guard knows the daemon died.
const guardSignal = syscall.Signal(42)

// GuardMain runs the guard: argv is PATH ARGV0 [ARGS...]. The guard is the
// leader of the command's process group; it starts the command in the same
// group and waits for it, passing its exit status on. When the daemon dies
// the kernel sends the guard guardSignal (its Pdeathsig), and the guard
// SIGKILLs the whole group — grandchildren included, which Pdeathsig alone
// would leave running. Stop signals sent to the group reach the command
// directly; the guard ignores them and exits when the command does. It also
// reaps orphaned grandchildren (it is their subreaper), so none linger as
// zombies.
func GuardMain(argv []string) int {
	if len(argv) < 2 {
		fmt.Fprintln(os.Stderr, "loop guard: usage: "+GuardArg+" PATH ARGV0 [ARGS...]")
		return 2
	}
	died := make(chan os.Signal, 1)
	signal.Notify(died, guardSignal)
	stops := make(chan os.Signal, 8)
	signal.Notify(stops, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	if os.Getppid() == 1 { // the daemon died before we could notice
		killGroup()
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	cmd := &exec.Cmd{Path: argv[0], Args: argv[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "loop guard: %v\n", err)
		return 127
	}
	exited := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := cmd.Process.Wait()
		exited <- st
	}()
	for {
		select {
		case <-died:
			killGroup()
		case <-stops:
			// The command got the same signal as a member of the group.
		case st := <-exited:
			return passOn(st)
		}
	}
}

// guarded wraps cmd so that the guard leads its group.
func guarded(guard []string, cmd *exec.Cmd) *exec.Cmd {
	// argv[0] "loop-guard" tells ps what it is, whatever the binary's path.
	args := append(append(append([]string{"loop-guard"}, guard[1:]...), cmd.Path), cmd.Args...)
	return &exec.Cmd{Path: guard[0], Args: args, Dir: cmd.Dir, Env: cmd.Env,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: guardSignal}}
}

func killGroup() {
	syscall.Kill(-syscall.Getpgrp(), syscall.SIGKILL)
	os.Exit(137)
}

// passOn exits the way the command did: with its code, or killed by its
// signal (so the daemon sees "killed by SIGTERM", not the guard's status).
func passOn(st *os.ProcessState) int {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return st.ExitCode()
	}
	sig := ws.Signal()
	signal.Reset(sig)
	syscall.Kill(os.Getpid(), sig)
	return 128 + int(sig)
}
