// Package supervise is loop's in-container supervisor. A static binary
// that holds it (cmd/loop-supervisor, or a loopd built without cgo; Find
// chooses which, for both container runtimes) is bind-mounted read-only
// into every dev container at /.loop/loopd and becomes its entrypoint:
//
//	/.loop/loopd supervise --stop-signal=SIGTERM --stop-timeout=10s -- CMD [ARGS...]
//
// As PID 1 it starts CMD in its own process group, forwards signals to that
// group, reaps every zombie, and restarts CMD in place on signal 39 (stop
// signal to the group, SIGKILL after the stop timeout, pending deletes
// applied, CMD started again): the container, its network and installed
// packages stay. Helpers run through `docker exec` in images that have no
// shell or tools: __rm removes paths, __hash lists a tree with xxh3
// content hashes so loop can diff it against the host, and __recv is a
// long-lived sync channel: it reads framed tar streams and delete lists on
// stdin and acknowledges each on stdout, so a save costs one write into an
// open stream instead of an engine call. For engines reached only through
// exec (Kubernetes), __signal signals the supervisor, __id tells the
// container's uid and gid, __chdir runs a command in a directory, and
// __install copies the binary into a volume (a pod's init container runs
// it).
//
// Everything here is pure Go on raw syscalls (no cgo, no libc, no shell),
// so it works in scratch and distroless images; nothing it imports may link
// libc under cgo either (no net, os/user or archive/tar), so that
// cmd/loop-supervisor is static however it is built.
package supervise

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Subcommand names. The __ ones are internal helpers run by loop through
// `docker exec`.
const (
	CmdSupervise = "supervise"
	CmdRm        = "__rm"
	CmdHash      = "__hash"
	CmdRecv      = "__recv"
	CmdSignal    = "__signal"
	CmdID        = "__id"
	CmdInstall   = "__install"
	CmdChdir     = "__chdir"
)

// SigRestart asks the supervisor to restart its command in place
// (SIGRTMIN+5 in glibc terms). `docker kill --signal=39 <id>` sends it.
const SigRestart = syscall.Signal(39)

// deletesFile holds pending deletes, newline-separated absolute paths, that
// loop writes with CopyToContainer while the container is stopped. Tests
// point it elsewhere.
var deletesFile = "/.loop-state/deletes"

// IsCommand reports whether name (os.Args[1]) is one of this package's
// subcommands; cmd/loopd and cmd/loop-supervisor dispatch on it before anything else.
func IsCommand(name string) bool {
	switch name {
	case CmdSupervise, CmdRm, CmdHash, CmdRecv, CmdSignal, CmdID, CmdInstall, CmdChdir:
		return true
	}
	return false
}

// Main runs a subcommand; args are os.Args[1:], starting with the
// subcommand. It returns the process's exit code.
func Main(args []string) int {
	return run(args, os.Stdin, os.Stdout, os.Stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "loop supervise: no subcommand")
		return 2
	}
	switch args[0] {
	case CmdSupervise:
		return superviseMain(args[1:], stderr)
	case CmdRm:
		return rmMain(args[1:], stderr)
	case CmdHash:
		return hashMain(args[1:], stdout, stderr)
	case CmdRecv:
		return recvMain(args[1:], stdin, stdout, stderr)
	case CmdSignal:
		return signalMain(args[1:], stderr)
	case CmdID:
		return idMain(args[1:], stdout, stderr)
	case CmdInstall:
		return installMain(args[1:], stderr)
	case CmdChdir:
		return chdirMain(args[1:], stderr)
	}
	fmt.Fprintf(stderr, "loop supervise: unknown subcommand %q\n", args[0])
	return 2
}

// operands returns the arguments after an optional leading "--".
func operands(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}
