package process

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// StartCommand starts cmd in its own process group, with SIGKILL as its
// parent-death signal, from the one OS thread that lives as long as the
// daemon (see the package comment). Other packages that run short commands
// (probes, tasks) use it so that their processes die with the daemon too.
func StartCommand(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return startOnLockedThread(cmd)
}

type startRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

var starter struct {
	once sync.Once
	reqs chan startRequest
}

func startOnLockedThread(cmd *exec.Cmd) error {
	starter.once.Do(func() {
		starter.reqs = make(chan startRequest)
		go runStarter(starter.reqs)
	})
	errc := make(chan error, 1)
	starter.reqs <- startRequest{cmd: cmd, errc: errc}
	return <-errc
}

// runStarter forks every process. It locks its goroutine to the OS thread
// and never unlocks nor returns, so the thread that is the "parent" for
// Pdeathsig never exits while the daemon runs (a goroutine that exits while
// locked takes its thread with it; one that unlocks lets the runtime reuse
// or retire the thread). Its lifetime is the process's: it has no owner to
// wait for it by design.
func runStarter(reqs <-chan startRequest) {
	runtime.LockOSThread()
	for r := range reqs {
		r.errc <- r.cmd.Start()
	}
}
