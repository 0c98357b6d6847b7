package signame

import (
	"runtime"
	"syscall"
	"testing"
)

func TestLinuxTable(t *testing.T) {
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGHUP", 1}, {"SIGKILL", 9}, {"SIGUSR1", 10}, {"SIGUSR2", 12}, {"SIGTERM", 15}, {"SIGWINCH", 28}, {"SIGSYS", 31}} {
		if got := linuxNum(tt.name); got != tt.sig {
			t.Errorf("linuxNum(%q) = %d, want %d", tt.name, got, tt.sig)
		}
		if got := LinuxName(tt.sig); got != tt.name {
			t.Errorf("LinuxName(%d) = %q, want %q", tt.sig, got, tt.name)
		}
	}
	if got := linuxNum("SIGNOPE"); got != 0 {
		t.Errorf("linuxNum(SIGNOPE) = %d, want 0", got)
	}
	for _, sig := range []syscall.Signal{0, 32, 64, -1} {
		if got := LinuxName(sig); got != "" {
			t.Errorf("LinuxName(%d) = %q, want \"\"", sig, got)
		}
	}
	// On Linux the table is the kernel's: every signal agrees with x/sys/unix.
	if runtime.GOOS == "linux" {
		for n := syscall.Signal(1); n < 32; n++ {
			if got, want := LinuxName(n), signalName(n); got != want {
				t.Errorf("LinuxName(%d) = %q, the kernel's %q", n, got, want)
			}
		}
	}
}
