package sandbox

import (
	"bytes"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// selfExe names this binary for re-execution: /proc/self/exe, which is the
// running file even when it was replaced or deleted on disk since (so
// parent and child are always the same build).
func selfExe() string { return "/proc/self/exe" }

// offerToOOMKiller makes this process the kernel's first choice when
// memory runs out, before loopd and the services it runs.
func offerToOOMKiller() {
	os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
}

// memoryWatch reports on c, once, the memory a process took past a limit:
// its resident memory, or the growth of its address space since setBase.
// One allocation maps all its memory at once, long before it is touched
// (and touching 4 GiB takes a while), so the growth shows it early.
type memoryWatch struct {
	c    chan int64
	base atomic.Int64 // address space when evaluation started; 0 = unknown yet
	done chan struct{}
	wait chan struct{}
}

// setBase records the process's address space size before evaluation.
func (w *memoryWatch) setBase(size int64) { w.base.Store(size) }

// stop ends the watch and waits for it.
func (w *memoryWatch) stop() {
	close(w.done)
	<-w.wait
}

// watchMemory reads the memory of pid every RSSPoll.
func watchMemory(pid int, limit int64) *memoryWatch {
	w := &memoryWatch{c: make(chan int64, 1), done: make(chan struct{}), wait: make(chan struct{})}
	go func() {
		defer close(w.wait)
		tick := time.NewTicker(RSSPoll)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			size, rss, ok := statm(pid)
			if !ok {
				continue // gone, or not yet
			}
			if base := w.base.Load(); base > 0 && size-base > limit {
				w.c <- size - base
				return
			}
			if rss > limit {
				w.c <- rss
				return
			}
		}
	}()
	return w
}

// addressSpace is this process's virtual memory size (0 = unknown).
func addressSpace() int64 {
	size, _, _ := statm(os.Getpid())
	return size
}

// statm reads a process's virtual and resident memory sizes in bytes.
func statm(pid int) (size, rss int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, err1 := strconv.ParseInt(string(f[0]), 10, 64)
	resident, err2 := strconv.ParseInt(string(f[1]), 10, 64)
	page := int64(os.Getpagesize())
	return pages * page, resident * page, err1 == nil && err2 == nil
}

// killSession kills every process of session sid (the evaluator's, which
// it leads). Linux does not hand out a pid while a process still uses it as
// a session id, so every process found is one the evaluator started, or
// theirs. A few rounds catch what forked during the previous one.
func killSession(sid int) {
	for range 5 {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if s, ok := sessionOf(pid); ok && s == sid {
				syscall.Kill(pid, syscall.SIGKILL)
				found = true
			}
		}
		if !found {
			return
		}
	}
}

// sessionOf reads the session id of a live (not zombie) process.
func sessionOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid pgrp session ...; comm may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || f[0][0] == 'Z' {
		return 0, false
	}
	sid, err := strconv.Atoi(string(f[3]))
	return sid, err == nil
}
