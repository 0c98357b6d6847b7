//go:build unix && !linux

package loopfile

import "syscall"

// setDeathSignal does nothing where there is no parent-death signal: a
// killed evaluator's local() commands run on until they end by themselves.
func setDeathSignal(*syscall.SysProcAttr) {}
