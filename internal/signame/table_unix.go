//go:build unix

package signame

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// signalNum is the signal of a canonical name, 0 for none.
func signalNum(name string) syscall.Signal { return unix.SignalNum(name) }

// signalName is sig's canonical name, "" for none.
func signalName(sig syscall.Signal) string { return unix.SignalName(sig) }
