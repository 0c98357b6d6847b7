package full

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/supervise"
)

// NewDaemonRoot builds the loopd command: no subcommands and no
// arguments, so `loopd --help` prints its usage instead of starting a
// daemon, and a stray argument is an error. The internal commands that run
// inside containers are dispatched by cmd/loopd before this one; they are
// listed in the help so that a reader who meets one knows what it is.
func NewDaemonRoot(bi buildinfo.Info) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loopd",
		Short: "loopd: loop's per-user daemon",
		Long: fmt.Sprintf(`loopd is loop's per-user daemon: it runs every project of its user and
serves the API on $LOOP_HOME/loopd.sock (docs/api.md). It runs in the
foreground until SIGINT or SIGTERM, logging to stderr. 'loop' starts it on
demand; under systemd use ExecStart=/path/to/loopd. 'loop daemon stop'
stops it and everything it runs.

Internal commands, run by loop inside containers (docs/supervisor.md):
  %-11s run a service as PID 1 and restart it in place
  %-11s receive syncs: framed tar streams and deletes on stdin
  %-11s remove paths (every one checked before any is removed)
  %-11s list a tree with content hashes, to diff it against the host`, supervise.CmdSupervise, supervise.CmdRecv, supervise.CmdRm, supervise.CmdHash),
		Version: bi.String(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("unknown argument %q: loopd takes none (see loopd --help)", args[0])}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunDaemon(cmd.Context(), bi)
		},
	}
	cmd.SetVersionTemplate(bi.Long("loopd", "API "+api.Version) + "\n")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("%w (see loopd --help)", err)}
	})
	return cmd
}
