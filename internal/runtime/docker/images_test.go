package docker

import (
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestSupervisorArgv(t *testing.T) {
	got := SupervisorArgv(0, 0, []string{"/app", "-v"})
	want := []string{"/.loop/loopd", "supervise", "--stop-signal=SIGTERM", "--stop-timeout=" + DefaultStopTimeout.String(), "--", "/app", "-v"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SupervisorArgv(defaults) = %q, want %q", got, want)
	}
	got = SupervisorArgv(syscall.SIGINT, 3*time.Second, []string{"/app"})
	want = []string{"/.loop/loopd", "supervise", "--stop-signal=SIGINT", "--stop-timeout=3s", "--", "/app"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SupervisorArgv(SIGINT, 3s) = %q, want %q", got, want)
	}
}
