//go:build unix

package sandbox

// The parent side of Load: start the evaluator, feed it, watch it, and turn
// whatever happens to it into the result or a *loopfile.Error.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// childMarker is set in the evaluator's environment: a binary that runs
// its own code instead of Main sees it and refuses to evaluate (Load).
const childMarker = "LOOP_EVALUATOR"

// keepEnv are the variables of the caller's environment the evaluator
// keeps: enough to find commands, a home and a temp directory, and
// LOOP_HOME, by which a daemon's processes are found. Everything else
// (tokens and credentials loopd was started with) stays out.
var keepEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LOOP_HOME"}

// childEnv is the evaluator's environment.
func childEnv() []string {
	env := []string{childMarker + "=1"}
	for _, k := range keepEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// outcome is what the result pipe carried. Its reader goroutine is its
// only writer; run reads it after that goroutine is done.
type outcome struct {
	files    []string
	memory   int64 // recMemory: the heap size the child stopped at
	project  *model.Project
	err      *loopfile.Error
	protoErr error // the result pipe carried something unreadable
}

// startFailed is the error of an evaluator that could not be started.
func startFailed(abs string, err error) error {
	return &loopfile.Error{File: abs, Files: []string{abs}, Msg: "evaluate: " + err.Error(),
		Hint: "loop could not start its evaluator process; check the system's process and file limits"}
}

// run evaluates in a child started for this evaluation alone (cold).
func run(ctx context.Context, abs string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	c, err := startChild()
	if err != nil {
		return nil, startFailed(abs, err)
	}
	return c.evaluate(ctx, abs, opts, lim)
}

// child is an evaluator process that has not been asked yet: it runs its
// binary's start (the runtime and every package's init), writes recReady
// on the result pipe and blocks reading its request on stdin. Two
// goroutines watch it from the start and end with it: one waits for the
// process (exited), one reads its ready record (ready). Whoever holds a
// child ends it with evaluate (once) or discard, which wait for both.
type child struct {
	cmd *exec.Cmd
	env []string // the environment it was started with (childEnv)
	// stdin is the write end of its stdin, held open until the child is
	// gone: its end of file tells the child that nobody waits for it.
	stdin                  *os.File
	stdout, stderr, result *os.File // the read ends of its output pipes

	exited   chan struct{} // closed once the process has exited
	waitErr  error         // cmd.Wait's; read after exited
	ready    chan struct{} // closed once the ready record came, or the result pipe failed first
	readyErr error         // why no ready record came (io.EOF: the child ended first); read after ready
}

// startChild starts an evaluator; it is ready (or gone) when c.ready is
// closed.
func startChild() (*child, error) {
	var pipes [4][2]*os.File // stdin, stdout, stderr, result: read end, write end
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes[:i])
			return nil, err
		}
		pipes[i] = [2]*os.File{r, w}
	}
	stdinR, stdinW := pipes[0][0], pipes[0][1]
	outR, outW := pipes[1][0], pipes[1][1]
	errR, errW := pipes[2][0], pipes[2][1]
	resR, resW := pipes[3][0], pipes[3][1]

	env := childEnv()
	cmd := exec.Command(selfExe(), Arg)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, outW, errW
	cmd.ExtraFiles = []*os.File{resW}
	// Its own session: whatever it starts (local() commands, in process
	// groups of their own) can be found and killed with it (killSession).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Start()
	// The child has its ends; the parent keeps only its own.
	for _, f := range []*os.File{stdinR, outW, errW, resW} {
		f.Close()
	}
	if err != nil {
		closeAll([][2]*os.File{{stdinW, outR}, {errR, resR}})
		return nil, err
	}
	c := &child{cmd: cmd, env: env, stdin: stdinW, stdout: outR, stderr: errR, result: resR,
		exited: make(chan struct{}), ready: make(chan struct{})}
	go func() {
		defer close(c.exited)
		c.waitErr = cmd.Wait()
	}()
	go func() {
		defer close(c.ready)
		c.readyErr = readReady(resR)
	}()
	return c, nil
}

// discard ends a child that will not evaluate (it started nothing) and
// waits for it and its goroutines.
func (c *child) discard() {
	c.stdin.Close()
	c.cmd.Process.Kill()
	<-c.exited
	c.stdout.Close()
	c.stderr.Close()
	c.result.Close()
	<-c.ready
}

// evaluate sends the child its request, watches it until it ends, and
// turns whatever happened to it into the result or a *loopfile.Error.
func (c *child) evaluate(ctx context.Context, abs string, opts loopfile.Options, lim Limits) (*model.Project, error) {
	defer c.stdin.Close()

	// One goroutine per pipe; evaluate waits for all of them before it
	// returns.
	var out outcome
	var pipesDone sync.WaitGroup
	stdout := opts.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	stderr := &stderrTail{}
	memory := watchMemory(c.cmd.Process.Pid, lim.Memory*BackstopFactor)
	pipesDone.Go(func() { copyCapped(stdout, c.stdout, loopfile.MaxOutput+4096) })
	pipesDone.Go(func() { io.Copy(stderr, c.stderr) })
	pipesDone.Go(func() {
		<-c.ready // the ready record is the ready goroutine's
		if c.readyErr != nil {
			if c.readyErr != io.EOF { // io.EOF: it ended before; waitErr and stderr say why
				out.protoErr = c.readyErr
			}
			io.Copy(io.Discard, c.result)
			return
		}
		out.read(c.result, opts.OnFile, memory.setBase)
	})
	// The write fails (EPIPE) if the child dies first.
	pipesDone.Go(func() {
		writeRequest(c.stdin, &request{
			Path: abs, Env: opts.Env, MaxSteps: opts.MaxSteps, LocalTimeout: opts.LocalTimeout,
			Memory: lim.Memory, Timeout: lim.Timeout,
		})
	})

	deadline := time.NewTimer(lim.Timeout + KillGrace)
	defer deadline.Stop()

	var killed string // why the parent killed the child
	var used int64
	select {
	case <-c.exited:
	case <-ctx.Done():
		killed = "context"
	case <-deadline.C:
		killed = "timeout"
	case used = <-memory.c:
		killed = "memory"
	}
	memory.stop()
	if killed != "" {
		c.cmd.Process.Kill()
	}
	<-c.exited
	waitErr := c.waitErr
	// The child is gone, and with it every writer of the pipes (commands
	// that local() starts get none of them). Bound the wait anyway.
	drained := make(chan struct{})
	go func() { pipesDone.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(time.Second):
		c.stdout.Close()
		c.stderr.Close()
		c.result.Close()
		<-drained
	}
	c.stdout.Close()
	c.stderr.Close()
	c.result.Close()

	// An evaluator that did not finish cleanly may leave local() commands
	// (and what they started) behind: end its session. One that finished
	// keeps what the Loopfile started in the background, as in process.
	if killed != "" || waitErr != nil {
		killSession(c.cmd.Process.Pid)
	}

	files := out.files
	if len(files) == 0 {
		files = []string{abs}
	}
	stopped := func(msg, hint string) *loopfile.Error {
		return &loopfile.Error{File: abs, Files: files, Msg: msg, Hint: hint}
	}
	switch killed {
	case "context":
		// As loopfile.Load says it, without the line (the child is gone).
		var stop *loopfile.Stop
		if errors.As(context.Cause(ctx), &stop) {
			return nil, stopped(stop.Msg, stop.Hint).WithCause(stop)
		}
		return nil, stopped("evaluation stopped: "+ctx.Err().Error(), "").WithCause(ctx.Err())
	case "timeout":
		return nil, stopped(
			fmt.Sprintf("evaluation did not stop at the limit of %s (%s) and was killed %s later", lim.Timeout, EnvTimeout, KillGrace),
			"something blocked outside Starlark (a stuck command, a read that never returns); if the Loopfile really needs longer, raise "+EnvTimeout)
	case "memory":
		return nil, stopped(overMemory(used, lim.Memory))
	}
	if out.memory > 0 {
		return nil, stopped(overMemory(out.memory, lim.Memory))
	}
	if waitErr == nil && out.protoErr == nil {
		if out.err != nil {
			return nil, out.err
		}
		if out.project != nil {
			return out.project, nil
		}
	}
	msg, hint := crashed(waitErr, out.protoErr, stderr.String())
	return nil, stopped(msg, hint)
}

// overMemory is the error of an evaluation stopped past BackstopFactor
// times its memory limit, which one operation reached before the thread
// could be stopped at a line.
func overMemory(used, limit int64) (msg, hint string) {
	return fmt.Sprintf("evaluation used %s of memory, over %d times the limit of %s (%s), and was killed", mib(used), BackstopFactor, mib(limit), EnvMemory),
		"one operation (a huge string, list or concatenation) allocated past the limit before evaluation could stop at a line; " +
			"build smaller values, or raise " + EnvMemory + " if the Loopfile really needs more"
}

func closeAll(ps [][2]*os.File) {
	for _, p := range ps {
		p[0].Close()
		p[1].Close()
	}
}

// read takes the records of the result pipe.
func (o *outcome) read(r io.Reader, onFile func(string), onStart func(addressSpace int64)) {
	err := readRecords(r, func(kind byte, payload []byte) error {
		switch kind {
		case recStart:
			var size int64
			if err := unmarshal(payload, &size); err != nil {
				return err
			}
			onStart(size)
		case recFile:
			path := string(payload)
			o.files = append(o.files, path)
			if onFile != nil {
				onFile(path)
			}
		case recProject:
			if err := unmarshal(payload, &o.project); err != nil {
				return err
			}
		case recMemory:
			if err := unmarshal(payload, &o.memory); err != nil {
				return err
			}
		case recError:
			var w *errorWire
			if err := unmarshal(payload, &w); err != nil || w == nil {
				return fmt.Errorf("read result: bad error record: %v", err)
			}
			o.err = w.toError()
		default:
			return fmt.Errorf("read result: unknown record %q", kind)
		}
		return nil
	})
	if err != nil {
		o.protoErr = err
		io.Copy(io.Discard, r) // let the child finish writing
	}
}

// crashed describes an evaluator that ended without a result.
func crashed(waitErr, protoErr error, stderr string) (msg, hint string) {
	hint = "this is a bug in loop: please report it with the Loopfile and this message"
	var exit *exec.ExitError
	var tooBig *resultTooBig
	switch {
	case errors.As(protoErr, &tooBig):
		return "evaluation failed: " + tooBig.Error(), "the Loopfile declares far more than a project holds; split it into several projects"
	case protoErr != nil:
		msg = "the evaluator's result was unreadable: " + protoErr.Error()
	case waitErr == nil:
		msg = "the evaluator exited without a result"
	case errors.As(waitErr, &exit) && exit.ExitCode() < 0:
		msg = "the evaluator was killed by " + signalName(exit)
		hint = "the kernel's out-of-memory killer or another process (a command the Loopfile runs, say) killed it"
	case errors.As(waitErr, &exit) && exit.ExitCode() == exitSchema:
		msg = "the evaluator (" + selfExe() + ") is a different build of loop than this process"
		hint = "restart loopd (and loop lsp) after upgrading loop"
	case strings.Contains(stderr, "fatal error: runtime: out of memory") || strings.Contains(stderr, "fatal error: out of memory"):
		msg = "the evaluator ran out of memory"
		hint = "the system could not give the evaluation the memory it asked for; build smaller values in the Loopfile"
	case crashStart(stderr) >= 0:
		msg = "the evaluator crashed: " + firstLine(stderr[crashStart(stderr):])
	case errors.As(waitErr, &exit):
		msg = fmt.Sprintf("the evaluator exited with code %d", exit.ExitCode())
	default:
		msg = "the evaluator failed: " + waitErr.Error()
	}
	if s := strings.TrimSpace(stderr); s != "" {
		msg += "; its output:\n" + s
	}
	return "evaluation failed: " + msg, hint
}

func signalName(exit *exec.ExitError) string {
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return "a signal"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// copyCapped copies r to w until max bytes, then drains r.
func copyCapped(w io.Writer, r io.Reader, max int64) {
	io.Copy(w, io.LimitReader(r, max))
	io.Copy(io.Discard, r)
}

// stderrTail keeps the beginning and the end of the child's stderr (at
// most stderrKeep bytes of each): the beginning of a Go panic or fatal
// error has the message and the top of the stack, the end of anything
// else is what happened last. Only one goroutine writes it; String is
// called after that goroutine is done.
type stderrTail struct {
	head, tail []byte
}

func (t *stderrTail) Write(p []byte) (int, error) {
	n := len(p)
	if room := stderrKeep - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - stderrKeep; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return n, nil
}

// String returns the first stderrLines lines of a Go crash, or else the
// last stderrLines lines.
func (t *stderrTail) String() string {
	head := string(t.head)
	if i := crashStart(head); i >= 0 {
		lines := strings.SplitN(head[i:], "\n", stderrLines+1)
		return strings.TrimRight(strings.Join(lines[:min(len(lines), stderrLines)], "\n"), "\n")
	}
	s := strings.TrimRight(head+string(t.tail), "\n")
	if len(t.tail) > 0 && len(t.head) == stderrKeep {
		s = "..." + strings.TrimRight(string(t.tail), "\n")
	}
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-stderrLines):], "\n")
}

// crashStart is where the Go runtime's report of a crash starts in s (a
// line "panic: ...", "fatal error: ..." or "SIGSEGV: ..."), or -1.
func crashStart(s string) int {
	for i := 0; i < len(s); {
		line := s[i:]
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") || isSignalLine(line) {
			return i
		}
		j := strings.IndexByte(line, '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return -1
}

// isSignalLine reports whether line starts like "SIGABRT: abort".
func isSignalLine(line string) bool {
	name, _, ok := strings.Cut(firstLine(line), ": ")
	if !ok || !strings.HasPrefix(name, "SIG") || len(name) < 5 {
		return false
	}
	return strings.Trim(name[3:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}
