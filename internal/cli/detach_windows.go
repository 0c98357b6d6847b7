package cli

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// exeSuffix ends an executable's file name.
const exeSuffix = ".exe"

// detached starts loopd in a process group of its own with a console of
// its own that has no window: closing the terminal does not end it, and
// the services it starts share its console, so their stop signal
// (CTRL_BREAK, see the process runtime) reaches them.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_NO_WINDOW}
}
