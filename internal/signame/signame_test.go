//go:build unix

package signame

import (
	"errors"
	"syscall"
	"testing"
)

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"term": "SIGTERM", "TERM": "SIGTERM", "SIGTERM": "SIGTERM", "sigusr1": "SIGUSR1"} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStopSignal(t *testing.T) {
	want := map[string]syscall.Signal{
		"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
		"SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	}
	if len(Stop) != len(want) {
		t.Errorf("Stop = %v, want the %d in %v", Stop, len(want), want)
	}
	for name, sig := range want {
		if got, ok := StopSignal(name); !ok || got != sig {
			t.Errorf("StopSignal(%q) = %v, %v, want %v, true", name, got, ok, sig)
		}
	}
	for _, name := range []string{"SIGSTOP", "term", "", "SIGWINCH"} {
		if got, ok := StopSignal(name); ok || got != syscall.SIGTERM {
			t.Errorf("StopSignal(%q) = %v, %v, want SIGTERM, false", name, got, ok)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"SIGTERM": syscall.SIGTERM, "term": syscall.SIGTERM, "HUP": syscall.SIGHUP, "9": syscall.SIGKILL, "64": 64,
		"SIGWINCH": syscall.SIGWINCH,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "SIGNOPE", "nope"} {
		if _, err := Parse(in); !errors.Is(err, ErrUnknown) {
			t.Errorf("Parse(%q) error = %v, want ErrUnknown", in, err)
		}
	}
}

func TestFlag_String(t *testing.T) {
	for _, tc := range []struct {
		sig          syscall.Signal
		flag, string string
	}{
		{syscall.SIGTERM, "SIGTERM", "SIGTERM"},
		{syscall.SIGUSR2, "SIGUSR2", "SIGUSR2"},
		{42, "42", "signal 42"},
	} {
		if got := Flag(tc.sig); got != tc.flag {
			t.Errorf("Flag(%d) = %q, want %q", int(tc.sig), got, tc.flag)
		}
		if got := String(tc.sig); got != tc.string {
			t.Errorf("String(%d) = %q, want %q", int(tc.sig), got, tc.string)
		}
		if back, err := Parse(Flag(tc.sig)); err != nil || back != tc.sig {
			t.Errorf("Parse(Flag(%d)) = %v, %v", int(tc.sig), back, err)
		}
	}
}
