package full

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/ship"
)

func (a *app) shipCmd() *cobra.Command {
	var allowDirty, dryRun bool
	cmd := &cobra.Command{
		Use:   "ship [RESOURCE...]",
		Short: "Hand a good change to the outer loop: build, push by digest, deploy / commit to GitOps",
		Long: `loop ship runs each ship() of the Loopfile (only RESOURCE..., when given):
it checks that the git tree is clean, that the project's tasks labelled
"test" passed and the resource is ready in loopd (run 'loop up' or 'loop ci'
first), builds the production image, tags it with the commit and pushes it,
then hands the digest-pinned image to the deploy API and/or commits it to
the GitOps repository. Every attempt is recorded in $LOOP_HOME/loop.db.

--dry-run builds, but pushes nothing and sends nothing: it prints the tag it
would push, the deploy request and the GitOps diff. See docs/outer-loop.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := a.ExistingClient(ctx)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitFailed, Err: errors.New("loopd is not running, so loop cannot tell whether the tests passed: run loop ci or loop up first")}
			}
			return a.ship(ctx, c, args, allowDirty, dryRun)
		},
	}
	cmd.Flags().BoolVar(&allowDirty, "allow-dirty", false, "ship uncommitted changes (the tag gets -dirty)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "build, but push and send nothing: print what would be pushed, sent and committed")
	return cmd
}

// ship evaluates the Loopfile and runs its ship()s; c is loopd, for the
// preconditions.
func (a *app) ship(ctx context.Context, c *api.Client, only []string, allowDirty, dryRun bool) error {
	lf, err := a.FindLoopfile()
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFailed, Err: err}
	}
	p, err := loopfile.Load(ctx, lf, loopfile.Options{Env: os.Environ(), Stdout: a.Stderr})
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFailed, Err: fmt.Errorf("%v\nnothing was shipped: fix the Loopfile", err)}
	}
	if a.Project != "" {
		p.Name = a.Project
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFailed, Err: fmt.Errorf("%v\nnothing was shipped: fix the config file (loop config)", err)}
	}
	recs, err := ship.Run(ctx, ship.Options{
		Project: p, Resources: only, AllowDirty: allowDirty, DryRun: dryRun,
		Client: c, Home: loophome.Dir(), Out: a.Stdout, Policy: cfg.Policy,
	})
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFailed, Err: err}
	}
	for _, r := range recs {
		fmt.Fprintf(a.Stdout, "loop ship: %s %s %s\n", r.Service, r.Outcome, r.Image)
	}
	return nil
}
