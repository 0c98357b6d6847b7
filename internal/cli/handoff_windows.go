package cli

// execCLI runs bin as argv and waits: Windows has no exec. The child
// shares the console, so Ctrl-C reaches it; the child's exit code becomes
// loop's.
func execCLI(bin string, argv []string) error { return runAs(bin, argv) }
