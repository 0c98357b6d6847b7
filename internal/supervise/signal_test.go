//go:build unix

package supervise

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignal_RestartsInPlace: `__signal 39 PID` is a restart in place,
// like `docker kill --signal=39`.
func TestSignal_RestartsInPlace(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	s := startSupervisor(t, "", "--stop-timeout=5s", "--", "sh", "-c", writePid(pidFile)+"; exec sleep 1000")
	s.ready()
	old := readPid(t, pidFile, 0)
	var stderr bytes.Buffer
	if code := run([]string{CmdSignal, strconv.Itoa(int(SigRestart)), strconv.Itoa(s.cmd.Process.Pid)}, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("__signal exit code = %d, want 0 (stderr %q)", code, stderr.String())
	}
	got := readPid(t, pidFile, old)
	want := fmt.Sprintf("loop supervise: restarted sh (pid %d)\n", got)
	poll(t, 10*time.Second, "the restart line", func() bool { return strings.Contains(s.stderr.String(), want) })
	s.running()
}

func TestSignal_Usage(t *testing.T) {
	for _, args := range [][]string{{}, {"SIGNOPE"}, {"TERM", "x"}, {"TERM", "0"}, {"TERM", "1", "2"}} {
		var stderr bytes.Buffer
		if code := run(append([]string{CmdSignal}, args...), nil, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("__signal %q: exit code = %d, want 2", args, code)
		}
	}
	// A pid that is not there is an error of its own.
	var stderr bytes.Buffer
	if code := run([]string{CmdSignal, "TERM", "2147483646"}, nil, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "pid 2147483646") {
		t.Errorf("__signal to a missing pid: exit %d, stderr %q; want 1 naming the pid", code, stderr.String())
	}
}

func TestID(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{CmdID}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("__id exit code = %d (stderr %q)", code, stderr.String())
	}
	if want := fmt.Sprintf("%d %d\n", os.Getuid(), os.Getgid()); stdout.String() != want {
		t.Errorf("__id = %q, want %q", stdout.String(), want)
	}
}

func TestInstall(t *testing.T) {
	src := filepath.Join(t.TempDir(), "loopd")
	if err := os.WriteFile(src, []byte("binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := selfExe
	selfExe = src
	t.Cleanup(func() { selfExe = old })
	dir := t.TempDir()
	dst := filepath.Join(dir, "a", "b", "loopd")
	for range 2 { // a second install replaces the first
		var stderr bytes.Buffer
		if code := run([]string{CmdInstall, dst}, nil, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("__install exit code = %d (stderr %q)", code, stderr.String())
		}
	}
	b, err := os.ReadFile(dst)
	if err != nil || string(b) != "binary" {
		t.Fatalf("installed file = %q, %v; want the binary", b, err)
	}
	fi, _ := os.Stat(dst)
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want 0755", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	if len(ents) != 1 {
		t.Errorf("%s holds %d entries, want only the binary (no temporary left)", filepath.Dir(dst), len(ents))
	}
	var stderr bytes.Buffer
	if code := run([]string{CmdInstall}, nil, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("__install without DST: exit %d, want 2", code)
	}
}

// TestInstall_Self: the real /proc/self/exe is copied whole.
func TestInstall_Self(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "loopd")
	var stderr bytes.Buffer
	if code := run([]string{CmdInstall, "--", dst}, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("__install exit code = %d (stderr %q)", code, stderr.String())
	}
	got, _ := os.ReadFile(dst)
	want, _ := os.ReadFile("/proc/self/exe")
	if !bytes.Equal(got, want) {
		t.Errorf("installed %d bytes, want the %d of the test binary", len(got), len(want))
	}
}

// TestChdir runs the real binary: __chdir replaces the process.
func TestChdir(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], CmdChdir, dir, "--", "pwd")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Errorf("__chdir %s -- pwd = %q, %v; want %s", dir, out, err, dir)
	}
	cmd = exec.Command(os.Args[0], CmdChdir, filepath.Join(dir, "missing"), "--", "pwd")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 127 {
		t.Errorf("__chdir into a missing directory: %v, want exit code 127", err)
	}
	var stderr bytes.Buffer
	if code := run([]string{CmdChdir, dir, "pwd"}, nil, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("__chdir without --: exit %d, want 2", code)
	}
}
