//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
)

// benchTree is (c): a project of cfg.dirs x cfg.files files plus an
// ignored node_modules; time from the up request until the watcher is
// ready, the watches it holds, loopd's RSS and idle CPU.
func benchTree(ctx context.Context, cfg config, bins *binaries, dir string) error {
	proj := filepath.Join(dir, "proj")
	fmt.Fprintf(os.Stderr, "bench: (c) writing %d dirs x %d files (+ an ignored node_modules) ...\n", cfg.dirs, cfg.files)
	ignoredDirs := 1000 // x 20 files
	if err := makeTree(proj, cfg.dirs, cfg.files, ignoredDirs); err != nil {
		return err
	}
	lf := filepath.Join(proj, "Loopfile")
	if err := os.WriteFile(lf, []byte(`service("idle", cmd = ["sleep", "100000"], deps = ["."])`+"\n"), 0o644); err != nil {
		return err
	}
	d, c, stop, err := loopdIn(ctx, bins, dir, 10*time.Second)
	if err != nil {
		return err
	}
	defer stop()
	pid := d.pid()
	rss0 := rssMB(pid)

	start := time.Now()
	p, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ()})
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	upReturned := time.Since(start)
	var ws api.WatchStatus
	for {
		q, err := c.Project(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("project: %w", err)
		}
		if q.Watch != nil && q.Watch.Error != "" {
			return fmt.Errorf("watch: %s", q.Watch.Error)
		}
		if q.Watch != nil && q.Watch.Ready {
			ws = *q.Watch
			break
		}
		if time.Since(start) > 120*time.Second {
			return fmt.Errorf("watcher not ready after 120s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	ready := time.Since(start)
	rssReady := rssMB(pid)
	cpu0 := cpuTicks(pid)
	time.Sleep(3 * time.Second) // background hashing
	rssSettled := rssMB(pid)
	cpu1 := cpuTicks(pid)
	idle := 10 * time.Second
	t0 := time.Now()
	time.Sleep(idle)
	cpu2 := cpuTicks(pid)
	idleSecs := time.Since(t0).Seconds()
	rssIdle := rssMB(pid)
	tick := 100.0 // USER_HZ on Linux
	idleCPU := 100 * float64(cpu2-cpu1) / tick / idleSecs
	settleCPU := 100 * float64(cpu1-cpu0) / tick / 3

	files := cfg.dirs * cfg.files
	fmt.Printf("c  tree    %d dirs x %d files (%d files, + %d ignored in node_modules)\n", cfg.dirs, cfg.files, files, ignoredDirs*20)
	fmt.Printf("c  loop    up request -> Watch.Ready     %s  (up call returned after %s; watcher's own ReadyAfter %s)   target <= 3s: %s\n",
		ms(ready), ms(upReturned), ms(ws.ReadyAfter), pass(ready <= 3*time.Second))
	fmt.Printf("c  loop    inotify watches               %d  (tree has %d dirs + %d parents + root; node_modules not watched: %s)\n",
		ws.Watches, cfg.dirs, min(cfg.dirs, 50), pass(ws.Watches <= cfg.dirs+51))
	fmt.Printf("c  loop    loopd RSS                     before up %.1f MB, at ready %.1f MB, +3s %.1f MB, +13s %.1f MB   target <= 150MB: %s\n",
		rss0, rssReady, rssSettled, rssIdle, pass(max(rssReady, rssSettled, rssIdle) <= 150))
	fmt.Printf("c  loop    loopd CPU                     first 3s after ready %.1f%%, idle over %.0fs %.2f%%   target ~0%%: %s\n",
		settleCPU, idleSecs, idleCPU, pass(idleCPU < 1))
	return nil
}

// rssMB is VmRSS of pid in MB (-1 when unreadable).
func rssMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return -1
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}
