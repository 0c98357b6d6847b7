package process

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/loopdev/loop/internal/runtime"
)

// helperEnv makes this test binary a helper process: "sleep" sleeps,
// "tree" starts a "sleep" child (the test's grandchild) and prints
// "child <pid>", "daemon" starts a "tree" with Runtime.Start like loopd.
const helperEnv = "LOOP_PROCESS_TEST_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ReaperArg {
		os.Exit(ReaperMain(os.Stdin))
	}
	switch os.Getenv(helperEnv) {
	case "sleep":
		time.Sleep(100 * time.Second)
		os.Exit(0)
	case "tree":
		child := helperCmd("sleep")
		if err := child.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("child %d\n", child.Process.Pid)
		child.Wait()
		os.Exit(0)
	case "daemon":
		if _, err := (&Runtime{}).Start(context.Background(), helperSpec("tree", os.Stdout)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		select {}
	}
	os.Exit(m.Run())
}

func helperCmd(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

func helperSpec(mode string, stdout io.Writer) runtime.Spec {
	return runtime.Spec{
		Name:   "helper-" + mode,
		Argv:   []string{os.Args[0], "-test.run=^$"},
		Env:    append(os.Environ(), helperEnv+"="+mode),
		Stdout: stdout,
	}
}

// waitChild reads lines until a helper prints "child <pid>" and returns a
// handle to that process, opened before anything is killed so that its pid
// cannot be recycled meanwhile.
func waitChild(t *testing.T, lines <-chan string) windows.Handle {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("helper exited before starting its child")
			}
			p, ok := strings.CutPrefix(l, "child ")
			if !ok {
				continue
			}
			pid, err := strconv.ParseUint(p, 10, 32)
			if err != nil {
				t.Fatalf("child pid %q: %v", p, err)
			}
			h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
			if err != nil {
				t.Fatalf("open child %d: %v", pid, err)
			}
			t.Cleanup(func() { windows.CloseHandle(h) })
			return h
		case <-timeout:
			t.Fatal("helper did not start its child")
		}
	}
}

// assertExits waits for the process behind h to exit.
func assertExits(t *testing.T, h windows.Handle, what string) {
	t.Helper()
	ev, err := windows.WaitForSingleObject(h, 10_000)
	if err != nil || ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("%s still running (wait = %#x, %v)", what, ev, err)
	}
}

// pipeLines gives a writer for a Spec's output and the lines written to it.
func pipeLines(t *testing.T) (io.Writer, <-chan string) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	return pw, readLines(bufio.NewReader(pr))
}

func TestHandle_Stop_windowsKillsTheJob(t *testing.T) {
	w, lines := pipeLines(t)
	h, err := (&Runtime{}).Start(context.Background(), helperSpec("tree", w))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Stop(context.Background()) })
	grandchild := waitChild(t, lines)
	if !h.(*handle).group.alive() {
		t.Fatal("job not alive before Stop")
	}
	stop(t, h)
	assertExits(t, grandchild, "grandchild")
	if h.(*handle).group.alive() {
		t.Error("job alive after Stop")
	}
}

func TestHandle_Stop_windowsAfterExitKillsLeftovers(t *testing.T) {
	w, lines := pipeLines(t)
	h, err := (&Runtime{}).Start(context.Background(), helperSpec("tree", w))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Stop(context.Background()) })
	grandchild := waitChild(t, lines)
	// Kill only the leader: the grandchild is left in the job.
	leader, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(h.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	windows.TerminateProcess(leader, 3)
	windows.CloseHandle(leader)
	waitDone(t, h)
	if !h.(*handle).group.alive() {
		t.Fatal("grandchild died with the leader; this test cannot check leftovers")
	}
	stop(t, h)
	assertExits(t, grandchild, "grandchild")
}

// The point of the job object: when the daemon dies, however it dies, the
// kernel kills the tree, grandchild included.
func TestRuntime_Start_windowsDaemonKilledTakesTheTree(t *testing.T) {
	daemon := helperCmd("daemon")
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	grandchild := waitChild(t, readLines(bufio.NewReader(out)))
	daemon.Process.Kill()
	daemon.Wait()
	assertExits(t, grandchild, "grandchild of a killed daemon")
}

// StartCommand's job is closed when the leader exits, taking its leftovers.
func TestStartCommand_windowsLeaderExitTakesLeftovers(t *testing.T) {
	cmd := helperCmd("tree")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := StartCommand(cmd); err != nil {
		t.Fatalf("StartCommand: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	grandchild := waitChild(t, readLines(bufio.NewReader(out)))
	cmd.Process.Kill()
	assertExits(t, grandchild, "grandchild of an exited StartCommand")
}

func TestReapOrphans_windowsRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"123.json", "456.json.tmp"} {
		if err := os.WriteFile(dir+`\`+name, []byte(`{"pgid":123}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ReapOrphans(dir, nil); err != nil {
		t.Fatalf("ReapOrphans: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state dir still holds %v", ents)
	}
}

func TestRecordGroup_windowsRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	h, err := (&Runtime{StateDir: dir}).Start(context.Background(), helperSpec("sleep", nil))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer stop(t, h)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state dir holds %v", ents)
	}
}

// TestRunning_windows: a live child is running; once it exited it is not.
func TestRunning_windows(t *testing.T) {
	cmd := helperCmd("sleep")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !Running(pid) {
		t.Fatalf("Running(%d) = false for a live child", pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if Running(pid) {
		t.Fatalf("Running(%d) = true after it exited", pid)
	}
}
