//go:build unix

package supervise

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/cmdpath"
	"github.com/loopdev/loop/internal/signame"
)

const (
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// pollEvery checks whether the group is gone while stopping: members
	// whose parent is another member are not reaped here, so SIGCHLD alone
	// does not say when the group is empty.
	pollEvery = 5 * time.Millisecond
	// killWait bounds the wait for a SIGKILLed group to disappear (a
	// zombie whose parent is not this process can linger).
	killWait = 5 * time.Second
)

// forwarded are the signals passed on to the command's process group.
var forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

type options struct {
	stopSignal  syscall.Signal
	stopTimeout time.Duration
	keepalive   bool
	argv        []string // CMD [ARGS...]; empty with --keepalive only
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet(CmdSupervise, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sig := fs.String("stop-signal", "SIGTERM", "signal that stops the command's process group")
	timeout := fs.Duration("stop-timeout", 10*time.Second, "wait this long after the stop signal, then SIGKILL the group")
	keepalive := fs.Bool("keepalive", false, "stay alive when there is no command or it exits")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	s, err := parseSignal(*sig)
	if err != nil {
		return options{}, err
	}
	o := options{stopSignal: s, stopTimeout: *timeout, keepalive: *keepalive, argv: fs.Args()}
	if len(o.argv) == 0 && !o.keepalive {
		return options{}, errors.New("no command: usage: supervise [--stop-signal=SIG] [--stop-timeout=DUR] [--keepalive] -- CMD [ARGS...]")
	}
	return o, nil
}

// parseSignal accepts "SIGTERM", "TERM" or a number.
func parseSignal(s string) (syscall.Signal, error) {
	sig, err := signame.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("stop signal %q: %w", s, err)
	}
	return sig, nil
}

func superviseMain(args []string, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "loop supervise: %v\n", err)
		}
		return 2
	}
	if os.Getpid() != 1 {
		if err := becomeSubreaper(); err != nil {
			fmt.Fprintf(stderr, "loop supervise: subreaper: %v\n", err)
		}
	}
	s := &supervisor{opts: o, stderr: stderr, deletes: deletesFile}
	return s.run()
}

type phase int

const (
	running    phase = iota
	restarting       // stopping the command to start it again
	stopping         // stopping the command, then exiting
)

// supervisor is the state of `supervise`. Every field is owned by the
// goroutine in run, so none needs a lock.
type supervisor struct {
	opts    options
	stderr  io.Writer
	deletes string

	pid    int // the command's process; 0 when it is not running
	pgid   int // its process group; 0 when the group is gone
	status int // exit status of the command's last run
	phase  phase
	// stopRan: the command was running when the stop began, so the exit
	// code is its status.
	stopRan bool

	grace  *time.Timer // stop timeout while stopping; nil otherwise
	poll   *time.Ticker
	killed time.Time // when the group was SIGKILLed; zero before

	exit int
	done bool
}

func (s *supervisor) run() int {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD, SigRestart}, forwarded...)...)
	defer signal.Stop(sigs)

	applyDeletes(s.deletes, s.stderr)
	if len(s.opts.argv) > 0 {
		if err := s.start(); err != nil {
			fmt.Fprintf(s.stderr, "loop supervise: %v\n", err)
			if !s.opts.keepalive {
				return 127
			}
		}
	}
	for !s.done {
		select {
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal))
		case <-timerC(s.grace):
			s.grace = nil
			s.kill()
		case <-tickerC(s.poll):
			s.reap()
		}
		s.progress()
	}
	s.stopTimers()
	return s.exit
}

func (s *supervisor) onSignal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGCHLD:
		s.reap()
	case SigRestart:
		if s.phase != running {
			return // a restart or stop in progress covers this request
		}
		if len(s.opts.argv) == 0 {
			applyDeletes(s.deletes, s.stderr)
			fmt.Fprintln(s.stderr, RestartedPrefix+"nothing (--keepalive without a command)")
			return
		}
		s.phase = restarting
		s.beginStop(s.opts.stopSignal)
	case syscall.SIGTERM, syscall.SIGINT:
		// docker stop sends SIGTERM: the command gets its own stop signal.
		// SIGINT (Ctrl-C on a tty) is passed on as it is.
		fwd := sig
		if sig == syscall.SIGTERM {
			fwd = s.opts.stopSignal
		}
		switch s.phase {
		case running:
			s.phase = stopping
			s.beginStop(fwd)
		case restarting:
			s.phase = stopping // finish the stop in progress, then exit
			s.signalGroup(fwd)
		case stopping:
			s.signalGroup(fwd)
		}
	default:
		s.signalGroup(sig)
	}
}

// beginStop signals the group and arms the stop timeout.
func (s *supervisor) beginStop(sig syscall.Signal) {
	s.killed = time.Time{}
	s.stopRan = s.pid != 0
	if s.pid == 0 && s.pgid == 0 {
		return // nothing running: progress finishes at once
	}
	s.signalGroup(sig)
	s.grace = time.NewTimer(s.opts.stopTimeout)
	s.poll = time.NewTicker(pollEvery)
}

// kill SIGKILLs the group and the command (should it have left its group).
func (s *supervisor) kill() {
	s.signalGroup(syscall.SIGKILL)
	if s.pid != 0 {
		syscall.Kill(s.pid, syscall.SIGKILL)
	}
	if s.killed.IsZero() {
		s.killed = time.Now()
	}
}

// signalGroup sends sig to the command's process group, or to the command
// alone once it has left the group.
func (s *supervisor) signalGroup(sig syscall.Signal) {
	if s.pgid != 0 {
		if err := syscall.Kill(-s.pgid, sig); !errors.Is(err, syscall.ESRCH) {
			return
		}
		s.pgid = 0
	}
	if s.pid != 0 {
		syscall.Kill(s.pid, sig)
	}
}

// reap collects every exited child: the command, and orphans reparented
// to this process (PID 1 or a subreaper).
func (s *supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if pid == s.pid && (ws.Exited() || ws.Signaled()) {
			s.pid = 0
			s.status = exitStatus(ws)
			s.onCommandExit()
		}
	}
}

// onCommandExit handles the command exiting on its own.
func (s *supervisor) onCommandExit() {
	if s.phase != running {
		return // expected: progress takes it from here
	}
	if s.opts.keepalive {
		fmt.Fprintf(s.stderr, "loop supervise: %s exited with status %d; staying alive (--keepalive)\n", s.opts.argv[0], s.status)
		return
	}
	s.signalGroup(syscall.SIGKILL) // no orphans: the container is stopping
	s.exit, s.done = s.status, true
}

// progress finishes a stop or restart once the command and its group are
// gone.
func (s *supervisor) progress() {
	if s.phase == running || s.done {
		return
	}
	if s.pgid != 0 && !groupAlive(s.pgid) {
		s.pgid = 0
	}
	if s.pid != 0 || s.pgid != 0 {
		if !s.killed.IsZero() && time.Since(s.killed) > killWait {
			fmt.Fprintf(s.stderr, "loop supervise: process group %d still there %s after SIGKILL; going on\n", s.pgid, killWait)
			s.pid, s.pgid = 0, 0
		} else {
			return
		}
	}
	s.stopTimers()
	if s.phase == stopping {
		s.exit, s.done = 0, true
		if s.stopRan {
			s.exit = s.status
		}
		return
	}
	s.phase = running
	applyDeletes(s.deletes, s.stderr)
	if err := s.start(); err != nil {
		fmt.Fprintf(s.stderr, "%s%v\n", RestartFailedPrefix, err)
		if !s.opts.keepalive {
			s.exit, s.done = 127, true
		}
		return
	}
	fmt.Fprintf(s.stderr, "%s%s (pid %d)\n", RestartedPrefix, s.opts.argv[0], s.pid)
}

// start runs the command in its own process group with this process's
// stdio, environment and working directory.
func (s *supervisor) start() error {
	env := os.Environ()
	lookEnv := env
	if _, ok := os.LookupEnv("PATH"); !ok {
		lookEnv = append(env[:len(env):len(env)], "PATH="+defaultPath)
	}
	path, err := cmdpath.Look(s.opts.argv[0], "", lookEnv)
	if err != nil {
		return err
	}
	pid, err := syscall.ForkExec(path, s.opts.argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	s.pid, s.pgid = pid, pid
	return nil
}

func (s *supervisor) stopTimers() {
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	if s.poll != nil {
		s.poll.Stop()
		s.poll = nil
	}
}

// groupAlive reports whether process group pgid still has a member
// (zombies included: they are reaped here).
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// exitStatus is a shell's $?: the exit code, or 128+signal.
func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func tickerC(t *time.Ticker) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}
