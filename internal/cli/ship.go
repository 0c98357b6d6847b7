package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
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
			c, err := a.existingClient(ctx)
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: errors.New("loopd is not running, so loop cannot tell whether the tests passed: run loop ci or loop up first")}
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
	lf, err := a.findLoopfile()
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	p, err := loopfile.Load(ctx, lf, loopfile.Options{Env: os.Environ(), Stdout: a.stderr})
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%v\nnothing was shipped: fix the Loopfile", err)}
	}
	if a.project != "" {
		p.Name = a.project
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%v\nnothing was shipped: fix the config file (loop config)", err)}
	}
	recs, err := ship.Run(ctx, ship.Options{
		Project: p, Resources: only, AllowDirty: allowDirty, DryRun: dryRun,
		Client: c, Home: loophome.Dir(), Out: a.stdout, Policy: cfg.Policy,
	})
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	for _, r := range recs {
		fmt.Fprintf(a.stdout, "loop ship: %s %s %s\n", r.Service, r.Outcome, r.Image)
	}
	return nil
}

// writeJUnit writes the JUnit report of the project's test tasks to path
// (`loop ci --junit`), also when ci failed. c and name may be unset when
// the project never came up; runErr is then why.
func (a *app) writeJUnit(path string, c *api.Client, name string, runErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var p *api.Project
	logs := map[string][]string{}
	if c != nil {
		snap, err := c.Project(ctx, name)
		if err != nil {
			return fmt.Errorf("junit report: read the project: %w", err)
		}
		p = snap
		for _, r := range snap.Resources {
			if r.State != api.StateFailed && r.State != api.StateCrashed {
				continue
			}
			c.Logs(ctx, name, api.LogsQuery{Resources: []string{r.Name}, Tail: 30}, func(l api.LogLine) error {
				logs[r.Name] = append(logs[r.Name], l.Text)
				return nil
			})
		}
	}
	if name == "" {
		name = "loop"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := ship.WriteJUnit(f, name, p, logs, runErr, time.Now()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	fmt.Fprintf(a.stderr, "loop ci: wrote the JUnit report %s\n", path)
	return nil
}
