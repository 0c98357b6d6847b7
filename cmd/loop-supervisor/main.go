// Command loop-supervisor is loop's in-container supervisor on its own:
// PID 1 of every dev container and the helpers loop runs there (see
// internal/supervise). It imports nothing but the supervisor, so it is
// small and quick to build; loopd builds it on demand (CGO_ENABLED=0) when
// loopd itself is not static. See docs/containers.md#the-supervisor.
package main

import (
	"fmt"
	"os"

	"github.com/loopdev/loop/internal/supervise"
)

func main() {
	if len(os.Args) < 2 || !supervise.IsCommand(os.Args[1]) {
		fmt.Fprintln(os.Stderr, "loop-supervisor: loop's in-container supervisor; loopd runs it, not you (usage: loop-supervisor supervise [flags] -- CMD [ARGS...])")
		os.Exit(2)
	}
	os.Exit(supervise.Main(os.Args[1:]))
}
