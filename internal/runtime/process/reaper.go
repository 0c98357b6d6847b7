package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ReaperArg is the argument that makes loop's binaries run as the reaper
// sidecar; cmd/loopd dispatches on it before anything else.
const ReaperArg = "__loop-reaper"

// Reaper is a sidecar process that outlives the daemon by design: the
// daemon tells it, over a pipe to its stdin, about every process group it
// starts ("+PGID") and every group that is gone ("-PGID"). When the daemon
// dies — however it dies, SIGKILL included — the kernel closes the pipe,
// and the reaper SIGKILLs every group still listed, grandchildren and all,
// then exits. Nothing is added to a process's start path but one write, so
// restarts stay fast. It also removes the directories it was given
// (RemoveOnExit: the daemon's file secrets), so no secret outlives the
// daemon on disk. A nil *Reaper does nothing.
//
// On Windows the kernel kills each job object's processes when the daemon
// dies (see group_windows.go), so the daemon tells the reaper about no
// groups there; it only removes directories.
type Reaper struct {
	mu     sync.Mutex
	w      io.WriteCloser
	cmd    *exec.Cmd
	broken bool
}

// StartReaper starts the sidecar: argv runs ReaperMain (e.g.
// {"/proc/self/exe", ReaperArg}). It lives in its own process group, so
// signals (or console control events) meant for the daemon's terminal or
// for a service never reach it.
func StartReaper(argv []string) (*Reaper, error) {
	cmd := &exec.Cmd{Path: argv[0], Args: append([]string{"loop-reaper"}, argv[1:]...), Stderr: os.Stderr}
	cmd.SysProcAttr = reaperSysProcAttr()
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	return &Reaper{w: w, cmd: cmd}, nil
}

func (r *Reaper) send(op byte, pgid int) {
	if r == nil || !reaperKillsGroups {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken {
		return
	}
	if _, err := fmt.Fprintf(r.w, "%c%d\n", op, pgid); err != nil {
		r.broken = true // ReapOrphans at the next start still covers us
	}
}

// RemoveOnExit has the reaper remove the directory tree at dir when the
// daemon is gone (after killing the groups).
func (r *Reaper) RemoveOnExit(dir string) error {
	if r == nil {
		return nil
	}
	if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "\n\x00") {
		return fmt.Errorf("reaper: cannot remove %q on exit: not an absolute path on one line", dir)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken {
		return errors.New("reaper: the pipe to the sidecar is closed")
	}
	if _, err := fmt.Fprintf(r.w, "d%s\n", dir); err != nil {
		r.broken = true
		return fmt.Errorf("reaper: %w", err)
	}
	return nil
}

func (r *Reaper) add(pgid int)    { r.send('+', pgid) }
func (r *Reaper) remove(pgid int) { r.send('-', pgid) }

// Close ends the sidecar (after a graceful shutdown every group is gone).
func (r *Reaper) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.broken = true
	r.w.Close()
	r.mu.Unlock()
	return r.cmd.Wait()
}

// ReaperMain runs the sidecar over the daemon's pipe and returns its exit
// code.
func ReaperMain(in io.Reader) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGQUIT)
	groups := map[int]bool{}
	var dirs []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		if line[0] == 'd' {
			if filepath.IsAbs(line[1:]) {
				dirs = append(dirs, line[1:])
			}
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		if line[0] == '+' {
			groups[pgid] = true
		} else {
			delete(groups, pgid)
		}
	}
	for pgid := range groups {
		killGroup(pgid)
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	return 0
}
