//go:build windows

package signame

import "syscall"

// signalNum is the signal of a canonical name, 0 for none: Linux's, as
// Windows sends none of its own (see the package comment).
func signalNum(name string) syscall.Signal { return linuxNum(name) }

// signalName is sig's canonical name, "" for none.
func signalName(sig syscall.Signal) string { return LinuxName(sig) }
