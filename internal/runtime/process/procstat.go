package process

import "strconv"

// procStat is what loop needs to know about one process: from
// /proc/<pid>/stat on Linux, from sysctl's kinfo_proc on macOS.
type procStat struct {
	pid       int
	state     byte   // R, S, D, Z, ... (Z: a zombie)
	pgrp      int    // process group
	startTime uint64 // Linux: clock ticks after boot; macOS: µs since the epoch
}

// kinfo holds the fields loop reads from a macOS kinfo_proc (sysctl
// kern.proc.*) as plain values, so that the conversion builds and is
// tested on every platform (proc_darwin.go fills it in).
type kinfo struct {
	pid       int32
	stat      int8 // p_stat: SIDL 1, SRUN 2, SSLEEP 3, SSTOP 4, SZOMB 5
	pgid      int32
	startSec  int64 // p_starttime, a timeval
	startUsec int32
}

// procStat converts k, giving p_stat the letters of Linux's state field.
func (k kinfo) procStat() procStat {
	state := byte('?')
	if k.stat >= 1 && k.stat <= 5 {
		state = "IRSTZ"[k.stat-1]
	}
	return procStat{pid: int(k.pid), state: state, pgrp: int(k.pgid), startTime: timevalMicros(k.startSec, k.startUsec)}
}

// timevalMicros converts a timeval to microseconds; one before the epoch
// (never a process's start) maps to 0.
func timevalMicros(sec int64, usec int32) uint64 {
	if sec < 0 || usec < 0 {
		return 0
	}
	return uint64(sec)*1_000_000 + uint64(usec)
}

// bootIDOfBoottime renders kern.boottime (a timeval) as a boot id.
func bootIDOfBoottime(sec int64, usec int32) string {
	return strconv.FormatInt(sec, 10) + "." + strconv.FormatInt(int64(usec), 10)
}
