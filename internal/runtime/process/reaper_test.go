//go:build linux

package process

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// With the reaper sidecar, the whole group — the grandchild too — dies
// the moment the daemon is SIGKILLed, without waiting for ReapOrphans.
func TestReaper_daemonKilledTakesTheGroup(t *testing.T) {
	cmd, pgid := startFakeDaemon(t, t.TempDir(), fakeDaemonReaperEnv+"=1")
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			members, _ := groupMembers(pgid)
			t.Fatalf("group %d outlived the daemon: %+v", pgid, members)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The reaper removes the directories it was given (the daemon's file
// secrets) when the daemon is SIGKILLed: no secret outlives it on disk.
func TestReaper_daemonKilledRemovesDirs(t *testing.T) {
	secrets := filepath.Join(t.TempDir(), "secrets")
	if err := os.MkdirAll(filepath.Join(secrets, "app", "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "app", "db", "password"), []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, _ := startFakeDaemon(t, t.TempDir(), fakeDaemonReaperEnv+"=1", fakeDaemonRmdirEnv+"="+secrets)
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(secrets); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s outlived the daemon", secrets)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReaper_RemoveOnExitRefusesBadPaths(t *testing.T) {
	r := &Reaper{w: nopCloser{}}
	for _, dir := range []string{"relative/dir", "/tmp/a\nb", ""} {
		if err := r.RemoveOnExit(dir); err == nil {
			t.Errorf("RemoveOnExit(%q): no error", dir)
		}
	}
}

type nopCloser struct{}

func (nopCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopCloser) Close() error                { return nil }
