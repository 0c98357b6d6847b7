// Command loopd is loop's per-user daemon. `loop` starts it on demand; it
// can also run under systemd or launchd. Started as `loop` (argv[0]), it
// is the whole loop CLI: the thin `loop` hands it the commands it does
// not link.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/cli/full"
	"github.com/loopdev/loop/internal/daemon"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/sandbox"
	"github.com/loopdev/loop/internal/supervise"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == process.ReaperArg {
		os.Exit(process.ReaperMain(os.Stdin))
	}
	if len(os.Args) > 1 && os.Args[1] == sandbox.Arg {
		os.Exit(sandbox.Main())
	}
	if len(os.Args) > 1 && supervise.IsCommand(os.Args[1]) {
		os.Exit(supervise.Main(os.Args[1:]))
	}
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == cli.CLIName {
		os.Exit(full.Main(buildinfo.Read(), os.Args[1:]))
	}
	err := full.NewDaemonRoot(buildinfo.Read()).ExecuteContext(context.Background())
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "loopd:", err)
	var ee *cli.ExitError
	switch {
	case errors.Is(err, daemon.ErrRunning):
		os.Exit(2)
	case errors.As(err, &ee):
		os.Exit(ee.Code)
	}
	os.Exit(1)
}
