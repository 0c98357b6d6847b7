//go:build unix

package process

import (
	"os/exec"
	"testing"
	"time"
)

// TestRunning: a live child is running; killed and not yet reaped (a
// zombie) it is not, nor once reaped.
func TestRunning(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !Running(pid) {
		t.Fatalf("Running(%d) = false for a live child", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for Running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("Running(%d) still true 10s after SIGKILL (a zombie is not running)", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Wait()
	if Running(pid) {
		t.Fatalf("Running(%d) = true after it was reaped", pid)
	}
}
