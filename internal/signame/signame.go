// Package signame is loop's one table of signal names: the stop signals a
// service may declare (Stop, StopSignal), the spelling a Loopfile or
// Compose file may use for them (Canonical), and the conversions between
// names, numbers and syscall.Signal for the supervisor's flag and for
// messages (Parse, Flag, String). The names are the kernel's, from
// golang.org/x/sys/unix on Unix systems; on Windows, which has no signals
// of its own to send, they are Linux's (table_windows.go), the system of
// every container a Loopfile's signal reaches, so a Loopfile parses the
// same everywhere.
package signame

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
)

// Stop are the stop signals a service may use, canonical names.
var Stop = []string{"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2"}

// Canonical spells a signal name the one way: upper case with the SIG
// prefix ("term" and "TERM" are "SIGTERM"). It does not check the name.
func Canonical(name string) string {
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	return name
}

// IsStop reports whether the canonical name is one of Stop.
func IsStop(name string) bool {
	for _, s := range Stop {
		if s == name {
			return true
		}
	}
	return false
}

// StopSignal is the signal of a canonical stop signal name, or SIGTERM
// (the default) and false for a name not in Stop.
func StopSignal(name string) (syscall.Signal, bool) {
	if IsStop(name) {
		return signalNum(name), true
	}
	return syscall.SIGTERM, false
}

// ErrUnknown is Parse's error for neither a signal name nor a number.
var ErrUnknown = errors.New("unknown signal; use a name like SIGTERM or a number")

// Parse reads any signal: a name in any case with or without SIG
// ("SIGTERM", "term") or a number from 1 to 64.
func Parse(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if sig := signalNum(Canonical(s)); sig != 0 {
		return sig, nil
	}
	return 0, ErrUnknown
}

// Flag is sig as Parse reads it back: "SIGTERM", or the number ("42") of
// a signal without a name.
func Flag(sig syscall.Signal) string {
	if n := signalName(sig); n != "" {
		return n
	}
	return strconv.Itoa(int(sig))
}

// String is sig for a message: "SIGTERM", or "signal 42".
func String(sig syscall.Signal) string {
	if n := signalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}
