//go:build linux

package process

import (
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
