package process

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// reaperKillsGroups: on Windows each job object dies with the daemon's
// handle to it, so the reaper is told about no groups.
const reaperKillsGroups = false

// reaperSysProcAttr puts the reaper in its own console process group, so a
// CTRL_BREAK or Ctrl+C meant for the daemon's console does not reach it.
func reaperSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// killGroup is never called on Windows (nothing is listed); jobs kill.
func killGroup(int) {}
