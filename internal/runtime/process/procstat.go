package process

// procStat is what loop needs to know about one process (from
// /proc/<pid>/stat on Linux).
type procStat struct {
	pid       int
	state     byte   // R, S, D, Z, ... (Z: a zombie)
	pgrp      int    // process group
	startTime uint64 // clock ticks after boot
}
