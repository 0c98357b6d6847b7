//go:build unix

package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/output"
)

func TestSupervise_RestartInPlace(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	s := startSupervisor(t, "", "--stop-timeout=5s", "--", "sh", "-c", writePid(pidFile)+"; exec sleep 1000")
	first := readPid(t, pidFile, 0)

	for i := range 3 {
		old := readPid(t, pidFile, 0)
		s.signal(SigRestart)
		got := readPid(t, pidFile, old)
		s.running()
		poll(t, 5*time.Second, fmt.Sprintf("old child %d gone", old), func() bool {
			_, _, alive := procState(old)
			return !alive
		})
		want := fmt.Sprintf("loop supervise: restarted sh (pid %d)\n", got)
		poll(t, 5*time.Second, "the restart line", func() bool { return strings.Contains(s.stderr.String(), want) })
		if _, ppid, ok := procState(got); !ok || ppid != s.cmd.Process.Pid {
			t.Errorf("restart %d: parent of new child %d = %d, want the supervisor %d", i, got, ppid, s.cmd.Process.Pid)
		}
	}
	if got := readPid(t, pidFile, 0); got == first {
		t.Errorf("child pid after restarts = %d, want a new one", got)
	}
}

func TestSupervise_RestartCoalesces(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The child takes its time to stop, so the later requests arrive
	// while the restart is in progress.
	script := "trap 'sleep 0.3; exit 0' TERM; " + writePid(pidFile) + "; while :; do sleep 0.05; done"
	s := startSupervisor(t, "", "--stop-timeout=5s", "--", "sh", "-c", script)
	old := readPid(t, pidFile, 0)
	for range 5 {
		s.signal(SigRestart)
	}
	readPid(t, pidFile, old)
	poll(t, 5*time.Second, "the restart line", func() bool { return strings.Contains(s.stderr.String(), "restarted") })
	// One more request is served: the supervisor is back to running.
	s.signal(SigRestart)
	poll(t, 5*time.Second, "a second restart", func() bool { return strings.Count(s.stderr.String(), "restarted") == 2 })
	s.running()
}

func TestSupervise_StopForwardsAndExits(t *testing.T) {
	tests := []struct {
		name  string
		sig   syscall.Signal
		traps string
		wait  string
		want  int
	}{
		{"TERM killed", syscall.SIGTERM, "", "exec sleep 1000", 128 + int(syscall.SIGTERM)},
		{"TERM trapped", syscall.SIGTERM, "trap 'exit 7' TERM; ", "while :; do sleep 0.05; done", 7},
		{"INT killed", syscall.SIGINT, "", "exec sleep 1000", 128 + int(syscall.SIGINT)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			// The script sets its traps before it writes its pid.
			s := startSupervisor(t, "", "--stop-timeout=10s", "--", "sh", "-c", tt.traps+writePid(pidFile)+"; "+tt.wait)
			readPid(t, pidFile, 0)
			s.signal(tt.sig)
			if got := s.wait(5 * time.Second); got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSupervise_StopSignalOption(t *testing.T) {
	// docker stop sends SIGTERM; the command gets its own stop signal.
	pidFile := filepath.Join(t.TempDir(), "pid")
	script := "trap 'exit 3' INT; trap 'exit 4' TERM; " + writePid(pidFile) + "; while :; do sleep 0.05; done"
	s := startSupervisor(t, "", "--stop-signal=SIGINT", "--", "sh", "-c", script)
	readPid(t, pidFile, 0)
	s.signal(syscall.SIGTERM)
	if got, want := s.wait(5*time.Second), 3; got != want {
		t.Errorf("exit code = %d, want %d (the SIGINT trap)", got, want)
	}
}

func TestSupervise_StopTimeoutKills(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// Ignored signals are inherited, so the sleeps ignore SIGTERM too.
	script := "trap '' TERM; " + writePid(pidFile) + "; while :; do sleep 0.05; done"
	s := startSupervisor(t, "", "--stop-timeout=300ms", "--", "sh", "-c", script)
	child := readPid(t, pidFile, 0)
	start := time.Now()
	s.signal(syscall.SIGTERM)
	if got, want := s.wait(5*time.Second), 128+int(syscall.SIGKILL); got != want {
		t.Errorf("exit code = %d, want %d", got, want)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("exited %s after SIGTERM, before the 300ms stop timeout", elapsed)
	}
	if _, _, alive := procState(child); alive {
		t.Errorf("child %d still alive", child)
	}
}

func TestSupervise_ChildExitEndsSupervisor(t *testing.T) {
	s := startSupervisor(t, "", "--", "sh", "-c", "exit 5")
	if got, want := s.wait(5*time.Second), 5; got != want {
		t.Errorf("exit code = %d, want %d", got, want)
	}
}

func TestSupervise_NotFound(t *testing.T) {
	s := startSupervisor(t, "", "--", "loop-no-such-command")
	if got, want := s.wait(5*time.Second), 127; got != want {
		t.Errorf("exit code = %d, want %d", got, want)
	}
	if !strings.Contains(s.stderr.String(), "loop-no-such-command") {
		t.Errorf("stderr = %q, want it to name the command", s.stderr)
	}
}

func TestSupervise_Keepalive(t *testing.T) {
	t.Run("no command", func(t *testing.T) {
		s := startSupervisor(t, "", "--keepalive")
		s.ready()
		s.signal(SigRestart) // nothing to restart: no effect
		s.signal(syscall.SIGHUP)
		s.running()
		s.signal(syscall.SIGTERM)
		if got := s.wait(5 * time.Second); got != 0 {
			t.Errorf("exit code = %d, want 0", got)
		}
	})
	t.Run("command exits", func(t *testing.T) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		s := startSupervisor(t, "", "--keepalive", "--", "sh", "-c", writePid(pidFile)+"; exit 3")
		old := readPid(t, pidFile, 0)
		poll(t, 5*time.Second, "the exit line", func() bool { return strings.Contains(s.stderr.String(), "staying alive") })
		s.running()
		// A restart starts it again.
		s.signal(SigRestart)
		readPid(t, pidFile, old)
		poll(t, 5*time.Second, "the second exit line", func() bool { return strings.Count(s.stderr.String(), "staying alive") == 2 })
		s.signal(syscall.SIGTERM) // the command is not running: exit 0
		if got := s.wait(5 * time.Second); got != 0 {
			t.Errorf("exit code = %d, want 0", got)
		}
	})
}

func TestSupervise_ReapsOrphans(t *testing.T) {
	dir := t.TempDir()
	pidFile, orphanFile := filepath.Join(dir, "pid"), filepath.Join(dir, "orphan")
	// The subshell starts the orphan in the background and exits at once,
	// so the orphan is reparented to the supervisor; it lives a little,
	// then exits and must be reaped.
	orphan := "(sh -c '" + writePid(orphanFile) + "; exec sleep 0.5' &); "
	s := startSupervisor(t, "", "--", "sh", "-c", orphan+writePid(pidFile)+"; exec sleep 1000")
	readPid(t, pidFile, 0)
	o := readPid(t, orphanFile, 0)
	_, ppid, ok := procState(o)
	if ok && ppid != s.cmd.Process.Pid {
		t.Fatalf("orphan %d has parent %d, want the supervisor %d", o, ppid, s.cmd.Process.Pid)
	}
	poll(t, 5*time.Second, fmt.Sprintf("orphan %d reaped", o), func() bool {
		_, _, alive := procState(o)
		return !alive
	})
	s.running()
	if z := zombieChildren(t, s.cmd.Process.Pid); len(z) > 0 {
		t.Errorf("zombies under the supervisor: %v", z)
	}
}

// zombieChildren lists the zombie children of parent.
func zombieChildren(t *testing.T, parent int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var z []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if st, ppid, ok := procState(pid); ok && ppid == parent && st == 'Z' {
			z = append(z, pid)
		}
	}
	return z
}

func TestSupervise_PendingDeletes(t *testing.T) {
	dir := t.TempDir()
	deletes := filepath.Join(dir, "deletes")
	pidFile, seen := filepath.Join(dir, "pid"), filepath.Join(dir, "seen")
	atStart, beforeRestart := filepath.Join(dir, "start"), filepath.Join(dir, "tree")
	keep := filepath.Join(dir, "keep")
	for _, p := range []string{atStart, filepath.Join(beforeRestart, "sub", "f"), keep} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeDeletes := func(paths ...string) {
		t.Helper()
		if err := os.WriteFile(deletes, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeDeletes(atStart, "relative/path", "/", "")

	// The child records whether the tree existed when it started.
	script := "if [ -e " + beforeRestart + " ]; then echo yes; else echo no; fi > " + seen + "; " +
		writePid(pidFile) + "; exec sleep 1000"
	s := startSupervisor(t, deletes, "--", "sh", "-c", script)
	old := readPid(t, pidFile, 0)
	if _, err := os.Stat(atStart); !os.IsNotExist(err) {
		t.Errorf("%s not deleted at start: %v", atStart, err)
	}
	if _, err := os.Stat(deletes); !os.IsNotExist(err) {
		t.Errorf("deletes file left after start: %v", err)
	}

	writeDeletes(beforeRestart)
	s.signal(SigRestart)
	readPid(t, pidFile, old)
	if b, _ := os.ReadFile(seen); strings.TrimSpace(string(b)) != "no" {
		t.Errorf("restarted child saw %s: %q, want it deleted before the start", beforeRestart, b)
	}
	if _, err := os.Stat(deletes); !os.IsNotExist(err) {
		t.Errorf("deletes file left after restart: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("unlisted file removed: %v", err)
	}
	for _, msg := range []string{`"relative/path"`, `"/"`} {
		if !strings.Contains(s.stderr.String(), msg) {
			t.Errorf("stderr does not report refused delete %s:\n%s", msg, s.stderr)
		}
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr bool
	}{
		{[]string{"--", "a", "b"}, options{syscall.SIGTERM, 10 * time.Second, false, []string{"a", "b"}}, false},
		{[]string{"--stop-signal=SIGINT", "--stop-timeout=2s", "--", "a"}, options{syscall.SIGINT, 2 * time.Second, false, []string{"a"}}, false},
		{[]string{"--stop-signal=quit", "--", "a", "--x"}, options{syscall.SIGQUIT, 10 * time.Second, false, []string{"a", "--x"}}, false},
		{[]string{"--stop-signal=39", "--", "a"}, options{syscall.Signal(39), 10 * time.Second, false, []string{"a"}}, false},
		{[]string{"--keepalive"}, options{syscall.SIGTERM, 10 * time.Second, true, []string{}}, false},
		{[]string{"--"}, options{}, true},
		{[]string{"--stop-signal=SIGNOPE", "--", "a"}, options{}, true},
	}
	for _, tt := range tests {
		got, err := parseOptions(tt.args, &output.Buffer{})
		if (err != nil) != tt.wantErr {
			t.Errorf("parseOptions(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got.stopSignal != tt.want.stopSignal || got.stopTimeout != tt.want.stopTimeout ||
			got.keepalive != tt.want.keepalive || strings.Join(got.argv, " ") != strings.Join(tt.want.argv, " ") {
			t.Errorf("parseOptions(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestIsCommand(t *testing.T) {
	for name, want := range map[string]bool{"supervise": true, "__rm": true, "__hash": true, "__signal": true, "__id": true, "__install": true, "up": false, "": false} {
		if got := IsCommand(name); got != want {
			t.Errorf("IsCommand(%q) = %v, want %v", name, got, want)
		}
	}
}
