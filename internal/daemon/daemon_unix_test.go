//go:build unix

package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

// A second loopd on the same home fails with ErrRunning before it touches
// anything: the first one's services keep running.
func TestDaemon_SecondDaemonLeavesTheFirstAlone(t *testing.T) {
	c := startDaemon(t)
	lf := writeLoopfile(t, `service("a", cmd="exec sleep 1000")`)
	p := up(t, c, lf)
	snap, err := c.Project(context.Background(), p.Name)
	if err != nil || len(snap.Resources) != 1 || snap.Resources[0].Pid == 0 {
		t.Fatalf("project: %+v, %v", snap, err)
	}
	pid := snap.Resources[0].Pid
	second := &Daemon{Home: filepath.Dir(c.Socket), Version: "test"}
	if err := second.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second daemon: got %v, want ErrRunning", err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the first daemon's service (pid %d) was killed: %v", pid, err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("the first daemon stopped answering: %v", err)
	}
}
