//go:build unix

package supervise

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// chdirMain is `__chdir DIR -- CMD [ARGS...]`: it changes to DIR and
// executes CMD (looked up in PATH) in its place, for engines whose exec
// cannot set a working directory (Kubernetes) in images without a shell.
func chdirMain(args []string, stderr io.Writer) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(stderr, "loop __chdir: usage: __chdir DIR -- CMD [ARGS...]")
		return 2
	}
	dir, argv := args[0], args[2:]
	if err := os.Chdir(dir); err != nil {
		fmt.Fprintf(stderr, "loop __chdir: %v\n", err)
		return 127
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "loop __chdir: %v\n", err)
		return 127
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(stderr, "loop __chdir: exec %s: %v\n", path, err)
	return 126
}
