//go:build unix

package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"syscall"

	"github.com/loopdev/loop/internal/signame"
)

// group is the process tree of one started command: on Unix the process
// group its leader leads (pgid == the leader's pid).
type group struct {
	pgid int
}

// startGroup starts cmd as the leader of a new process group.
func startGroup(cmd *exec.Cmd) (*group, error) {
	if err := StartCommand(cmd); err != nil {
		return nil, err
	}
	return &group{pgid: cmd.Process.Pid}, nil
}

// alive reports whether the group has a live member (see groupAlive).
func (g *group) alive() bool { return groupAlive(g.pgid) }

// signal sends sig to every member (kill(-pgid)). A group that is already
// gone is not an error.
func (g *group) signal(sig syscall.Signal) error {
	err := syscall.Kill(-g.pgid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d with %s: %w", g.pgid, signame.String(sig), err)
	}
	return nil
}

// release frees what the group holds: nothing on Unix.
func (g *group) release() {}

// groupAlive reports whether process group pgid has a live member.
// Zombies do not count: they hold no ports or files, and their new parent
// may never reap them (a container's PID 1 that does not reap orphans).
// Where process details cannot be read (see proc_other.go), zombies count
// as members.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false
	}
	if st, err := readStat(pgid); err == nil && st.pgrp == pgid && st.state != 'Z' {
		return true // the leader itself is alive
	}
	members, err := groupMembers(pgid)
	if err != nil {
		return true // cannot tell: assume alive
	}
	for _, m := range members {
		if m.state != 'Z' {
			return true
		}
	}
	return false
}

// Running reports whether pid is a live process; a zombie (exited, waiting
// to be reaped) is not. Where process details cannot be read, kill(pid, 0)
// alone decides.
func Running(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) // gone since kill(0), or no details here
	}
	return st.state != 'Z'
}
