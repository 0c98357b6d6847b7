//go:build unix

package supervise

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/output"
)

// supervised is a running supervisor under test.
type supervised struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *output.Buffer
	done   chan struct{}
	err    error // set when done is closed
	marker string
}

// ready waits until the supervisor catches signals: before that, a signal
// would kill it. Not for tests that bring their own deletes file.
func (s *supervised) ready() {
	s.t.Helper()
	poll(s.t, 10*time.Second, "the supervisor to start", func() bool {
		_, err := os.Stat(s.marker)
		return os.IsNotExist(err)
	})
}

// startSupervisor runs `supervise args...` in the test binary; deletes is
// the pending-deletes file ("" for one that never exists).
func startSupervisor(t *testing.T, deletes string, args ...string) *supervised {
	t.Helper()
	if deletes == "" {
		deletes = t.TempDir() + "/deletes"
	}
	// Pending deletes are applied once signals are caught: a marker file
	// listed there tells when the supervisor is ready.
	marker := t.TempDir() + "/ready"
	if _, err := os.Stat(deletes); os.IsNotExist(err) {
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(deletes, []byte(marker+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], append([]string{CmdSupervise}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", deletesEnv+"="+deletes)
	s := &supervised{t: t, cmd: cmd, stderr: &output.Buffer{}, done: make(chan struct{}), marker: marker}
	cmd.Stderr = s.stderr
	// The command holds the stderr pipe too: never hang on it.
	cmd.WaitDelay = 2 * time.Second
	// Its own group, so a test's group signal cannot hit go test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		// SIGTERM stops the command's group; SIGKILL only if that fails.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("supervisor stderr:\n%s", s.stderr)
		}
	})
	return s
}

func (s *supervised) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal supervisor: %v", err)
	}
}

// wait returns the supervisor's exit code, failing after timeout.
func (s *supervised) wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("supervisor still running after %s", timeout)
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		s.t.Fatal(s.err)
	}
	return 0
}

// running fails the test if the supervisor exited.
func (s *supervised) running() {
	s.t.Helper()
	select {
	case <-s.done:
		s.t.Fatalf("supervisor exited: %v", s.err)
	default:
	}
}

// poll calls cond every few milliseconds until it returns true, failing
// the test after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readPid polls file until it holds a pid other than not.
func readPid(t *testing.T, file string, not int) int {
	t.Helper()
	var pid int
	poll(t, 10*time.Second, "a pid in "+file, func() bool {
		b, err := os.ReadFile(file)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid != not
	})
	return pid
}

// writePid is a shell fragment that atomically writes $$ to file.
func writePid(file string) string {
	return "echo $$ > " + file + ".tmp && mv " + file + ".tmp " + file
}

// procState returns the state letter and parent pid of pid from
// /proc/<pid>/stat, ok=false when the process is gone.
func procState(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}
