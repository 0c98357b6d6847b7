//go:build unix && !linux

package process

import (
	"errors"
	"syscall"
)

var errNoProc = errors.New("process details need /proc (Linux)")

// groupAlive reports whether process group pgid has a member. Without
// /proc, zombies count as members.
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

type procStat struct {
	pid       int
	state     byte
	pgrp      int
	startTime uint64
}

func readStat(pid int) (procStat, error)        { return procStat{}, errNoProc }
func groupMembers(pgid int) ([]procStat, error) { return nil, errNoProc }
func bootID() (string, error)                   { return "", errNoProc }
