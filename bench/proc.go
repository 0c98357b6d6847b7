//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// atCleanup registers f to run (last registered first) when the bench ends,
// also on error or interrupt.
func atCleanup(f func()) {
	var once sync.Once
	cleanupMu.Lock()
	cleanups = append(cleanups, func() { once.Do(f) })
	cleanupMu.Unlock()
}

func runCleanups() {
	cleanupMu.Lock()
	fs := cleanups
	cleanups = nil
	cleanupMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// proc is a child process in its own process group, killed with its group
// when the bench ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type procSpec struct {
	argv  []string
	env   []string // added to the bench's environment
	dir   string
	stdin io.Reader
	out   io.Writer // stdout and stderr; nil discards
}

func startProc(name string, spec procSpec) (*proc, error) {
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Dir = spec.dir
	cmd.Env = append(os.Environ(), spec.env...)
	cmd.Stdin = spec.stdin
	cmd.Stdout, cmd.Stderr = spec.out, spec.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	atCleanup(func() { p.stop(2 * time.Second) })
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the group, then SIGKILL after grace, and waits for
// the leader. The group is SIGKILLed in any case, so nothing it started
// in the group stays.
func (p *proc) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "bench: kill %s group %d: %v\n", p.name, pgid, err)
	}
	<-p.done
}
