package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
)

func (a *App) upCmd() *cobra.Command {
	var detach bool
	var labels []string
	cmd := &cobra.Command{
		Use:   "up [RESOURCE...] [-l LABEL]",
		Short: "Start the project's services and watch for changes",
		Long: `Start the project's services and tasks, then stream a live summary and
their logs. Ctrl-C stops this project's services; -d leaves them running in
loopd.

With RESOURCE... or -l LABEL, only those resources (a resource matches -l
when it has any of the labels) and what they depend on run; the others
are not selected. On a project that is up, the selection replaces the last
one, and resources stopped by 'loop down' that it selects start again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			c, name, err := a.up(ctx, selector(args, labels))
			if err != nil {
				return err
			}
			defer a.maybeAskFeedback(ctx)
			if detach {
				fmt.Fprintf(a.Stdout, "%s is up in loopd. Next: `loop status`, `loop logs -f`, `loop wait`, `loop down`.\n", name)
				return nil
			}
			return a.follow(ctx, c, name)
		},
	}
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "leave the services running in loopd and return")
	a.labelFlag(cmd, &labels)
	return cmd
}

// up starts (or updates) the project in loopd with only the resources
// of only (all when it is empty).
func (a *App) up(ctx context.Context, only api.Selector) (*api.Client, string, error) {
	lf, err := a.FindLoopfile()
	if err != nil {
		return nil, "", err
	}
	c, err := a.Client(ctx)
	if err != nil {
		return nil, "", err
	}
	p, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ(), Resources: only.Resources, Labels: only.Labels})
	if err != nil {
		var se *api.StatusError
		if errors.As(err, &se) && se.Loopfile != nil {
			if a.isUp(ctx, c, lf) {
				return nil, "", fmt.Errorf("%s\nthe last good configuration keeps running: fix the Loopfile (it is watched)", se.Loopfile)
			}
			return nil, "", fmt.Errorf("%s\nnothing was started: fix the Loopfile and run `loop up` again", se.Loopfile)
		}
		return nil, "", err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(a.Stderr, "loop: warning: %s\n", w)
	}
	return c, p.Name, nil
}

// isUp reports whether the project of loopfile is up in loopd.
func (a *App) isUp(ctx context.Context, c *api.Client, loopfile string) bool {
	ps, err := c.ProjectList(ctx)
	if err != nil {
		return false
	}
	for _, p := range ps {
		if p.Loopfile == loopfile {
			return true
		}
	}
	return false
}

// follow prints status changes and logs until ctx ends, then stops the
// project's services.
func (a *App) follow(ctx context.Context, c *api.Client, name string) error {
	start := time.Now()
	p, err := c.Project(ctx, name)
	if err != nil {
		return err
	}
	pr := NewPrinter(a.Stdout, a.Color)
	a.printPortalURL()
	pr.summary(p.Resources)
	// The resources' own "loop" log lines narrate each start; events only
	// refresh the one-line summary when the counts change.
	// Counted as they change: one event costs O(1), whatever the size of
	// the project.
	states := map[string]string{}
	count := map[string]int{}
	for _, r := range p.Resources {
		states[r.Name] = r.State
		count[r.State]++
	}
	last := countsLine(count)
	errc := make(chan error, 2)
	go func() {
		errc <- c.Events(ctx, name, p.Seq, func(ev api.Event) error {
			switch {
			case ev.Kind == api.EventRemoved:
				return errDown
			case ev.Resource != nil:
				if old, ok := states[ev.Resource.Name]; ok {
					count[old]--
				}
				states[ev.Resource.Name] = ev.Resource.State
				count[ev.Resource.State]++
				if line := countsLine(count); line != last {
					last = line
					pr.loop(line)
				}
			case ev.Error != nil:
				pr.loop("Loopfile error (the last good configuration keeps running): " + ev.Error.String())
			case ev.Kind == api.EventProject && ev.Message != "":
				pr.loop(ev.Message)
			}
			return nil
		})
	}()
	go func() {
		errc <- c.Logs(ctx, name, api.LogsQuery{Since: start.Add(-time.Second).Format(time.RFC3339Nano), Follow: true}, func(l api.LogLine) error {
			pr.line(l)
			return nil
		})
	}()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if errors.Is(err, errDown) {
			pr.loop("the project was stopped (loop down)")
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("lost loopd: %w", err)
		}
	}
	pr.loop("stopping " + name + " ...")
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Down(dctx, name); err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	pr.loop("stopped")
	return nil
}

var errDown = errors.New("project down")

func (a *App) downCmd() *cobra.Command {
	var volumes bool
	var labels []string
	cmd := &cobra.Command{
		Use:   "down [RESOURCE...] [-l LABEL]",
		Short: "Stop the project's services and remove its containers (named volumes are kept)",
		Long: `Stop the project's services, remove its containers and forget the
project (its logs stay readable).

With RESOURCE... or -l LABEL (a resource matches when it has any of the
labels), only those stop, as 'docker compose stop' does: the project stays
up, the rest runs on, and they show as stopped until 'loop up' (or
'loop enable') starts them again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel := selector(args, labels)
			if volumes && !sel.Empty() {
				return fmt.Errorf("loop down --volumes removes the whole project's volumes: run it without RESOURCE or -l")
			}
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			if !sel.Empty() {
				return a.act(ctx, c, name, api.ActionStop, sel)
			}
			down := c.Down
			if volumes {
				down = c.DownVolumes
			}
			if err := down(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "%s: stopped\n", name)
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return a.ResourceNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.Flags().BoolVar(&volumes, "volumes", false, "also remove the project's named volumes")
	a.labelFlag(cmd, &labels)
	return cmd
}

func (a *App) ciCmd() *cobra.Command {
	var timeout, readiness time.Duration
	var keep, shipAfter bool
	var junit string
	var labels []string
	cmd := &cobra.Command{
		Use:   "ci [RESOURCE...] [-l LABEL]",
		Short: "Run the project headless until every service is ready and every task succeeded",
		Long: `loop ci starts the project (only RESOURCE... and the resources with any
of the -l labels, and what they depend on, when given), waits until every
service is ready and every task has succeeded, and exits 0; it exits non-zero on the first failure,
naming the resource with its last log lines, or when a service is not ready
within --readiness-timeout or the whole run exceeds --timeout. The project's
services are stopped at the end unless --keep.

--junit FILE writes a JUnit XML report of the tasks labelled "test" (also
when ci fails). --ship runs 'loop ship' for every ship() after a successful
run, before the services stop: a pipeline's deploy stage.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, name, err := a.up(ctx, selector(args, labels))
			if err != nil {
				if junit != "" {
					if jerr := a.writeJUnit(junit, nil, "", err); jerr != nil {
						fmt.Fprintf(a.Stderr, "loop ci: %v\n", jerr)
					}
				}
				return &ExitError{Code: ExitFailed, Err: err}
			}
			if !keep {
				defer func() {
					dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					c.Down(dctx, name)
				}()
			}
			err = a.ci(ctx, c, name, timeout, readiness)
			ciErr := err
			if err == nil && shipAfter {
				err = a.runCLI(ctx, a.withProject("ship")...)
			}
			// The report is written last, so that it does not make the
			// tree the ship checks dirty.
			if junit != "" {
				if jerr := a.writeJUnit(junit, c, name, ciErr); jerr != nil {
					fmt.Fprintf(a.Stderr, "loop ci: %v\n", jerr)
					if err == nil {
						err = &ExitError{Code: ExitFailed, Err: jerr}
					}
				}
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "fail when the whole run takes longer")
	cmd.Flags().DurationVar(&readiness, "readiness-timeout", 5*time.Minute, "fail when a resource stays starting longer")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the services running afterwards")
	cmd.Flags().BoolVar(&shipAfter, "ship", false, "after a successful run, ship every ship() of the Loopfile (loop ship)")
	cmd.Flags().StringVar(&junit, "junit", "", "write a JUnit XML report of the tasks labelled \"test\" to `FILE`")
	a.labelFlag(cmd, &labels)
	return cmd
}

func (a *App) ci(ctx context.Context, c *api.Client, name string, timeout, readiness time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		res, err := c.Wait(ctx, name, time.Second)
		if err != nil {
			return &ExitError{Code: ExitFailed, Err: err}
		}
		switch res.Outcome {
		case api.OutcomeReady:
			fmt.Fprintf(a.Stdout, "loop ci: %s: all %d resources ready\n", name, len(res.Resources))
			return nil
		case api.OutcomeFailed:
			a.printErrors(res.Errors)
			a.printDiagnostics(res.Diagnostics)
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("loop ci: %s failed: %s", name, failedNames(res.Errors))}
		}
		for _, r := range res.Resources {
			if r.State == api.StateStarting && time.Since(r.Since) > readiness {
				return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("loop ci: %s not ready after %s (readiness timeout): %s", r.Name, readiness, r.Reason)}
			}
		}
		if time.Now().After(deadline) {
			a.printErrors(res.Errors)
			return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("loop ci: %s not settled within %s", name, timeout)}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func failedNames(errs []api.Error) string {
	var names []string
	for _, e := range errs {
		if e.Resource != "" {
			names = append(names, e.Resource)
		} else {
			names = append(names, "Loopfile")
		}
	}
	return strings.Join(names, ", ")
}

// printDiagnostics prints file:line:col lines (editors and CI parse them).
func (a *App) printDiagnostics(ds []api.Diagnostic) {
	for _, d := range ds {
		fmt.Fprintln(a.Stderr, formatDiagnostic(d))
	}
}

func (a *App) printErrors(errs []api.Error) {
	for _, e := range errs {
		who := e.Resource
		if who == "" {
			who = "Loopfile"
		}
		msg := e.Message
		if e.Resource == "" {
			msg = e.String()
		}
		fmt.Fprintf(a.Stderr, "%s: %s\n", who, msg)
		for _, l := range e.Log {
			fmt.Fprintf(a.Stderr, "  | %s\n", l)
		}
	}
}
