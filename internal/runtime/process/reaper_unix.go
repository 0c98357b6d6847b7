//go:build unix

package process

import "syscall"

// reaperKillsGroups: on Unix the reaper is what kills a dead daemon's
// groups, grandchildren included.
const reaperKillsGroups = true

func reaperSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup SIGKILLs group pgid for the reaper; errors have nowhere to go.
func killGroup(pgid int) {
	(&group{pgid: pgid}).signal(syscall.SIGKILL)
}
