//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/sandbox/sandboxtest"
)

// procStat is what the tests need from /proc/PID/stat.
type procStat struct {
	pid   int
	comm  string
	state byte // 'R', 'S', ..., 'Z' for a zombie
	pgid  int
}

// readProcStat parses /proc/PID/stat; ok is false when the process is gone.
func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return procStat{}, false
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, comm: string(b[open+1 : end]), state: f[0][0], pgid: pgid}, true
}

// allProcs lists every process in /proc that is not a zombie.
func allProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok && st.state != 'Z' {
			out = append(out, st)
		}
	}
	return out
}

// alive reports whether pid is a process that is not a zombie.
func alive(pid int) bool {
	st, ok := readProcStat(pid)
	return ok && st.state != 'Z'
}

// groupMembers lists the live (non-zombie) processes of process group pgid.
func groupMembers(pgid int) []int {
	var pids []int
	for _, st := range allProcs() {
		if st.pgid == pgid {
			pids = append(pids, st.pid)
		}
	}
	return pids
}

// liveGroups returns the groups among pgids that still have a live member,
// with their members.
func liveGroups(pgids []int) map[int][]int {
	out := map[int][]int{}
	for _, st := range allProcs() {
		for _, g := range pgids {
			if st.pgid == g {
				out[g] = append(out[g], st.pid)
			}
		}
	}
	return out
}

// procsOf lists the live processes whose environment has LOOP_HOME=home:
// the daemon and everything it started (the CLI passes its environment on
// to the processes of a project).
func procsOf(home string) []int {
	want := []byte("LOOP_HOME=" + home + "\x00")
	self := os.Getpid()
	var pids []int
	for _, st := range allProcs() {
		if st.pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(st.pid) + "/environ")
		if err != nil {
			continue
		}
		if bytes.HasPrefix(b, want) || bytes.Contains(b, append([]byte{0}, want...)) {
			pids = append(pids, st.pid)
		}
	}
	return pids
}

// describeProcs names processes for a failure message.
func describeProcs(pids []int) string {
	var parts []string
	for _, pid := range pids {
		st, ok := readProcStat(pid)
		if !ok {
			parts = append(parts, fmt.Sprintf("%d (gone)", pid))
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		parts = append(parts, fmt.Sprintf("%d (%s, state %c, pgid %d: %s)", pid, st.comm, st.state, st.pgid,
			strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))))
	}
	return strings.Join(parts, "; ")
}

// describeGroups names the members of live groups for a failure message.
func describeGroups(groups map[int][]int) string {
	var parts []string
	for g, pids := range groups {
		parts = append(parts, fmt.Sprintf("group %d: %s", g, describeProcs(pids)))
	}
	return strings.Join(parts, "\n")
}

// isReaper reports whether pid is loopd's reaper sidecar (runtime/process:
// the daemon's binary run with the reaper argument).
func isReaper(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && slices.Contains(strings.Split(string(b), "\x00"), process.ReaperArg)
}

// reapers lists the live reaper sidecars of this LOOP_HOME.
func reapers(home string) []int {
	return slices.DeleteFunc(procsOf(home), func(pid int) bool { return !isReaper(pid) })
}

// isEvaluator reports whether pid is one of loopd's Loopfile evaluators
// (sandbox: the daemon's binary run with sandbox.Arg), such as the one it
// keeps idle, started ahead of the next evaluation.
func isEvaluator(pid int) bool { return sandboxtest.IsEvaluator(pid) }
