//go:build linux

package process

import (
	"os"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/runtime"
)

// With a guard, the whole group — the grandchild too — dies the moment the
// daemon is SIGKILLed, without waiting for ReapOrphans.
func TestGuard_daemonKilledTakesTheGroup(t *testing.T) {
	cmd, pgid := startFakeDaemon(t, t.TempDir(), fakeDaemonGuardEnv+"=1")
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

func guardRuntime() *Runtime { return &Runtime{Guard: []string{os.Args[0], GuardArg}} }

// The guard is transparent: exit codes, signals, output, stop signals and
// the environment reach the command as without it.
func TestGuard_transparent(t *testing.T) {
	tests := []struct {
		script string
		want   runtime.Exit
	}{
		{"exit 0", runtime.Exit{Code: 0}},
		{"exit 3", runtime.Exit{Code: 3}},
		{"kill -KILL $$", runtime.Exit{Code: -1, Signal: "SIGKILL"}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			h := start(t, guardRuntime(), runtime.Spec{Argv: []string{"sh", "-c", tt.script}})
			if got := waitDone(t, h); got != tt.want {
				t.Errorf("Exit() = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("output and env", func(t *testing.T) {
		var out buffer
		h := start(t, guardRuntime(), runtime.Spec{
			Argv: []string{"sh", "-c", "echo $GREETING"}, Env: append(testEnv, "GREETING=hi"), Stdout: &out,
		})
		waitDone(t, h)
		out.waitFor(t, "hi")
	})
	t.Run("stop signal", func(t *testing.T) {
		var out buffer
		h := start(t, guardRuntime(), runtime.Spec{
			Argv:       []string{"sh", "-c", `trap 'echo got-int; exit 0' INT; echo ready; while :; do sleep 0.01; done`},
			StopSignal: 2, StopTimeout: 5 * time.Second, Stdout: &out,
		})
		out.waitFor(t, "ready")
		stop(t, h)
		out.waitFor(t, "got-int")
		assertGroupGone(t, h.Pid())
	})
}
