//go:build unix && !linux

package sandbox

import (
	"os"
	"syscall"
)

// selfExe names this binary for re-execution. Unlike Linux's
// /proc/self/exe, the file may have been replaced since this process
// started: the schema check then refuses the other build.
func selfExe() string {
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}

// offerToOOMKiller does nothing where there is no OOM score.
func offerToOOMKiller() {}

// memoryWatch would report a process's memory past a limit; without
// /proc there is no cheap reading, so it never does: only the child's own
// heap monitor bounds memory here.
type memoryWatch struct{ c chan int64 }

func (w *memoryWatch) setBase(int64) {}
func (w *memoryWatch) stop()         {}

func watchMemory(int, int64) *memoryWatch { return &memoryWatch{} }

// addressSpace is unknown here.
func addressSpace() int64 { return 0 }

// killSession kills the process group the evaluator leads; the local()
// commands, in groups of their own, may outlive it here (no /proc to find
// its session's members).
func killSession(sid int) { syscall.Kill(-sid, syscall.SIGKILL) }
