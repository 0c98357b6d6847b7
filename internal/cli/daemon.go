package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/runtime/process"
)

func (a *App) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of loop and the running loopd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.Stdout, a.Build.Long("loop", "API "+api.Version))
			c := api.NewClient(loophome.Socket(loophome.Dir()))
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
			defer cancel()
			if v, err := c.Version(ctx); err == nil {
				fmt.Fprintf(a.Stdout, "loopd %s (API %s, pid %d)\n", v.Version, v.API, v.Pid)
			} else {
				fmt.Fprintln(a.Stdout, "loopd not running")
			}
			return nil
		},
	}
}

func (a *App) daemonCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run, stop or inspect loopd",
	}
	// `daemon run` is handed off (handedOff): it is loopd.
	cmd.AddCommand(&cobra.Command{
		Use:   "stop",
		Short: "Stop loopd and every service it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sock := loophome.Socket(loophome.Dir())
			c := api.NewClient(sock)
			v, _ := c.Version(cmd.Context())
			if err := c.Shutdown(cmd.Context()); err != nil {
				fmt.Fprintln(a.Stdout, "loopd is not running")
				return nil
			}
			// Return once loopd has exited (its services are stopped by
			// then), not merely once its socket is gone: a binary upgrade or
			// a test may check for the process next.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				_, err := os.Stat(sock)
				if os.IsNotExist(err) && (v.Pid == 0 || !process.Running(v.Pid)) {
					fmt.Fprintln(a.Stdout, "loopd stopped")
					return nil
				}
				time.Sleep(20 * time.Millisecond)
			}
			return fmt.Errorf("loopd (pid %d) still runs 30s after it was asked to stop: see %s, or kill it", v.Pid, filepath.Join(loophome.Dir(), "loopd.log"))
		},
	})
	return cmd
}
