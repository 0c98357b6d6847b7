package cli

import (
	"os"
	"os/signal"
)

// execCLI runs bin as argv and waits: Windows has no exec. The child
// shares the console, so Ctrl-C reaches it; this process only waits, and
// the child's exit code becomes loop's.
func execCLI(bin string, argv []string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	return runAs(bin, argv)
}
