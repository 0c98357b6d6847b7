package loopfile

import "syscall"

// setDeathSignal kills the command when the thread that started it ends.
// Go ends a thread only when a goroutine exits locked to it, which nothing
// that evaluates Loopfiles does, so in practice this is when the
// evaluating process dies: a killed evaluator (package sandbox) leaves no
// local() command behind.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
