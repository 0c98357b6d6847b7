package supervise

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// The supervisor and the helpers that need Unix system calls run only in
// Linux containers, from a Linux loopd (Find chooses one for the engine's
// architecture, see ReleasePath). A Windows loopd has them so that it
// builds; they refuse to run.

var errNotHere = errors.New("runs only inside a Linux container (loop uses a Linux loopd there)")

func notHere(stderr io.Writer, cmd string) int {
	fmt.Fprintf(stderr, "loop %s: %v\n", cmd, errNotHere)
	return 2
}

func superviseMain(_ []string, stderr io.Writer) int { return notHere(stderr, CmdSupervise) }
func hashMain(_ []string, _, stderr io.Writer) int   { return notHere(stderr, CmdHash) }
func signalMain(_ []string, stderr io.Writer) int    { return notHere(stderr, CmdSignal) }
func idMain(_ []string, _, stderr io.Writer) int     { return notHere(stderr, CmdID) }
func chdirMain(_ []string, stderr io.Writer) int     { return notHere(stderr, CmdChdir) }
func signalSupervisor(syscall.Signal) error          { return errNotHere }
