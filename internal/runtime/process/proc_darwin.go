package process

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// readStat reads pid's kinfo_proc (sysctl kern.proc.pid.<pid>). A pid that
// does not exist fails (x/sys reports EIO for the empty answer).
func readStat(pid int) (procStat, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return procStat{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	return kinfoOf(k).procStat(), nil
}

// groupMembers lists the processes in group pgid (sysctl kern.proc.pgrp).
func groupMembers(pgid int) ([]procStat, error) {
	ks, err := unix.SysctlKinfoProcSlice("kern.proc.pgrp", pgid)
	if err != nil {
		return nil, fmt.Errorf("list process group %d: %w", pgid, err)
	}
	out := make([]procStat, 0, len(ks))
	for i := range ks {
		out = append(out, kinfoOf(&ks[i]).procStat())
	}
	return out, nil
}

func kinfoOf(k *unix.KinfoProc) kinfo {
	return kinfo{
		pid:       k.Proc.P_pid,
		stat:      k.Proc.P_stat,
		pgid:      k.Eproc.Pgid,
		startSec:  k.Proc.P_starttime.Sec,
		startUsec: k.Proc.P_starttime.Usec,
	}
}

// bootID identifies the current boot by its time (kern.boottime); start
// times are only comparable within one boot. Should macOS ever move the
// recorded boot time, old records look like another boot's and are
// dropped: an orphan is left running, never a stranger killed.
func bootID() (string, error) {
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return "", fmt.Errorf("read boot time: %w", err)
	}
	return bootIDOfBoottime(tv.Sec, tv.Usec), nil
}
