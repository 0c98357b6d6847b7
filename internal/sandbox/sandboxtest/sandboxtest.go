// Package sandboxtest finds Loopfile evaluator processes, for tests that
// check none is left behind (Linux: it reads /proc).
package sandboxtest

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/loopdev/loop/internal/sandbox"
)

// IsEvaluator reports whether pid is a Loopfile evaluator: a binary run
// with sandbox.Arg.
func IsEvaluator(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && slices.Contains(strings.Split(string(b), "\x00"), sandbox.Arg)
}

// Children lists the live (not zombie) evaluators whose parent is parent.
func Children(parent int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !IsEvaluator(pid) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(parent) {
			pids = append(pids, pid)
		}
	}
	return pids
}
