package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

func (a *App) statusCmd() *cobra.Command {
	var asJSON, watch bool
	var labels []string
	cmd := &cobra.Command{
		Use:   "status [RESOURCE...] [-l LABEL]",
		Short: "Show the state of the project's resources",
		Long: `Show every resource's state, its labels and why it is in that state
(only RESOURCE... and the resources with any of the -l labels, when
given). --json prints the project snapshot; --watch keeps printing on
every change (with --json, one JSON object per line: a snapshot first,
then one event per change).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			sel := selector(args, labels)
			if asJSON {
				return a.statusJSON(ctx, c, name, sel, watch)
			}
			v, err := statusOf(ctx, c, name, sel)
			if err != nil {
				return err
			}
			a.printStatus(v)
			if !watch {
				return nil
			}
			w := newWatched(v)
			err = c.Events(ctx, name, v.Seq, func(ev api.Event) error {
				if ev.Resource != nil && !sel.Empty() && !w.shown(ev.Resource.Name) {
					return nil // not selected
				}
				if ev.Kind == api.EventRemoved {
					return errDown
				}
				if !w.apply(ev) {
					nv, err := statusOf(ctx, c, name, sel)
					if err != nil {
						return err
					}
					w = newWatched(nv)
				}
				fmt.Fprintln(a.Stdout)
				a.printStatus(w.v)
				return nil
			})
			if err == errDown || ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep printing on every change")
	a.labelFlag(cmd, &labels)
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return a.ResourceNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
	}
	return cmd
}

// statusJSON is `loop status --json [--watch]`: the snapshot, then (with
// watch) one event per change of what it selected, a JSON object a line.
func (a *App) statusJSON(ctx context.Context, c *api.Client, name string, sel api.Selector, watch bool) error {
	p, err := c.Selected(ctx, name, sel)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(a.Stdout)
	enc.Encode(p)
	if !watch {
		return nil
	}
	shown := make(map[string]bool, len(p.Resources))
	for _, r := range p.Resources {
		shown[r.Name] = true
	}
	err = c.Events(ctx, name, p.Seq, func(ev api.Event) error {
		if ev.Resource != nil && !sel.Empty() && !shown[ev.Resource.Name] {
			return nil // not selected
		}
		return enc.Encode(ev)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// statusView is what `loop status` shows of a project snapshot
// (api.Project): decoding only these fields of 10,000 resources
// allocates and touches half the memory, which is most of the command's
// time. TestStatusView_fieldsOfAPI keeps the JSON names the API's.
type statusView struct {
	Error            *api.Error            `json:"loopfile_error"`
	Warnings         []string              `json:"warnings"`
	Resources        []statusRow           `json:"resources"`
	Routes           []api.Route           `json:"routes"`
	Seq              uint64                `json:"seq"`
	Problems         []api.Problem         `json:"problems"`
	PolicyExceptions []api.PolicyException `json:"policy_exceptions"`
}

// statusRow is what `loop status` shows of a resource (api.Resource).
type statusRow struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`
	State    string     `json:"state"`
	Reason   string     `json:"reason"`
	Since    time.Time  `json:"since"`
	Pid      int        `json:"pid"`
	Restarts int        `json:"restarts"`
	Pending  bool       `json:"pending_changes"`
	Links    []api.Link `json:"links"`
	Labels   []string   `json:"labels"`
}

// rowOf is the statusRow of r.
func rowOf(r api.Resource) statusRow {
	return statusRow{Name: r.Name, Kind: r.Kind, State: r.State, Reason: r.Reason, Since: r.Since, Pid: r.Pid,
		Restarts: r.Restarts, Pending: r.Pending, Links: r.Links, Labels: r.Labels}
}

// statusOf reads the statusView of project name's resources that sel
// picks.
func statusOf(ctx context.Context, c *api.Client, name string, sel api.Selector) (*statusView, error) {
	var v statusView
	err := c.DecodeSelected(ctx, name, sel, &v, func(n int) { v.Resources = make([]statusRow, 0, n) })
	return &v, err
}

// watched is the view `loop status -w` shows, kept up to date from the
// events: one change costs the event, not a new snapshot.
type watched struct {
	v     *statusView
	index map[string]int // resource name -> position in v.Resources
}

func newWatched(v *statusView) *watched {
	w := &watched{v: v, index: make(map[string]int, len(v.Resources))}
	for i, r := range v.Resources {
		w.index[r.Name] = i
	}
	return w
}

// shown reports whether the view has the resource name.
func (w *watched) shown(name string) bool {
	_, ok := w.index[name]
	return ok
}

// apply puts an event's resource state in place. It reports false when
// the view must be read again instead: a project event (a reload, a
// Loopfile error), a resource it does not show yet, or one that stopped
// (it may be gone from the Loopfile).
func (w *watched) apply(ev api.Event) bool {
	if ev.Resource == nil {
		return false
	}
	i, ok := w.index[ev.Resource.Name]
	if !ok || ev.Resource.State == api.StateStopped {
		return false
	}
	w.v.Resources[i] = rowOf(*ev.Resource)
	w.v.Seq = max(w.v.Seq, ev.Seq)
	return true
}

// printStatus renders p as a table, buffered (10,000 resources: one
// write(2) each 64 KiB, not one per cell).
func (a *App) printStatus(p *statusView) {
	out := bufio.NewWriterSize(a.Stdout, 64*1024)
	defer out.Flush()
	pr := NewPrinter(out, a.Color)
	if p.Error != nil {
		fmt.Fprintf(out, "%s Loopfile error (the last good configuration keeps running):\n  %s\n", pr.Paint(Red, "✗"), p.Error)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(out, "%s %s\n", pr.Paint(Yellow, "!"), w)
	}
	for _, pb := range p.Problems {
		fmt.Fprintf(out, "%s %s\n", pr.Paint(Red, "✗"), pb.Message)
	}
	for _, e := range p.PolicyExceptions {
		fmt.Fprintf(out, "%s policy exception %s (%s): %s\n", pr.Paint(Yellow, "!"), e.Rule, e.Declared, e.Reason)
	}
	tw := &columns{text: make([]byte, 0, 128*(len(p.Resources)+1))}
	tw.row([]byte("RESOURCE\tKIND\tSTATE\tFOR\tPID\tRESTARTS\tLABELS\tREASON"))
	now := time.Now()
	var line []byte // one row, appended without fmt: 10,000 rows
	for _, r := range p.Resources {
		line = append(line[:0], r.Name...)
		line = append(append(line, '\t'), r.Kind...)
		line = append(append(line, '\t'), pr.stateText(r.State)...)
		line = append(append(line, '\t'), ageAt(now, r.Since)...)
		line = append(line, '\t')
		if r.Pid > 0 {
			line = strconv.AppendInt(line, int64(r.Pid), 10)
		}
		line = strconv.AppendInt(append(line, '\t'), int64(r.Restarts), 10)
		line = append(line, '\t')
		if len(r.Labels) == 0 {
			line = append(line, '-')
		}
		for i, l := range r.Labels {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, l...)
		}
		line = append(line, '\t')
		if r.Pending {
			line = append(append(append(line, "changes waiting for `loop trigger "...), r.Name...), "`; "...)
		}
		tw.row(append(line, r.Reason...))
	}
	tw.flush(out)
	for _, r := range p.Resources {
		for _, l := range r.Links {
			fmt.Fprintf(out, "  %s: %s\n", r.Name, l.URL)
		}
	}
	printRoutes(out, p.Routes, loophome.Dir())
}

// printRoutes lists the project's route() URLs on the gateway of the loopd
// of home.
func printRoutes(w io.Writer, routes []api.Route, home string) {
	if len(routes) == 0 {
		return
	}
	port, note := "", ""
	if info, err := loophome.ReadGateway(home); err == nil {
		port = ":" + strconv.Itoa(info.Port)
	} else {
		note = " (the gateway is not running: see LOOP_GATEWAY_PORT in docs/gateway.md)"
	}
	fmt.Fprintf(w, "routes%s:\n", note)
	for _, r := range routes {
		fmt.Fprintf(w, "  http://%s%s%s -> %s:%d\n", r.Host, port, r.Path, r.Resource, r.Port)
	}
}

// ageAt is how long ago t was at now, in the unit that suits it ("-"
// for never).
func ageAt(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	default:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
}

func (a *App) logsCmd() *cobra.Command {
	var q api.LogsQuery
	var asJSON, stamps bool
	cmd := &cobra.Command{
		Use:   "logs [RESOURCE...]",
		Short: "Print the project's logs (also after a daemon restart)",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			c, err := a.Client(ctx)
			if err != nil {
				return err
			}
			name := a.Project
			if name == "" {
				if name, err = a.projectName(ctx, c); err != nil {
					// Not up: read its persisted logs by Loopfile path.
					lf, ferr := a.FindLoopfile()
					if ferr != nil {
						return err
					}
					name, q.Loopfile = baseDirName(lf), lf
				}
			}
			q.Resources = args
			pr := NewPrinter(a.Stdout, a.Color)
			pr.stamps = stamps
			enc := json.NewEncoder(a.Stdout)
			return c.Logs(ctx, name, q, func(l api.LogLine) error {
				if asJSON {
					return enc.Encode(l)
				}
				pr.line(l)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&q.Follow, "follow", "f", false, "keep streaming new lines")
	cmd.Flags().IntVarP(&q.Tail, "tail", "n", 0, "only the last N lines (0 = all kept)")
	cmd.Flags().StringVar(&q.Since, "since", "", "only lines newer than a duration (5m) or an RFC 3339 time")
	cmd.Flags().StringVar(&q.Grep, "grep", "", "only lines matching a regular expression")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	cmd.Flags().BoolVarP(&stamps, "timestamps", "t", false, "show each line's time")
	return cmd
}

func baseDirName(loopfile string) string {
	parts := strings.Split(strings.TrimSuffix(loopfile, "/Loopfile"), "/")
	return parts[len(parts)-1]
}

func (a *App) waitCmd() *cobra.Command {
	var timeout time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "wait",
		Short: "Wait until everything affected by your changes has settled",
		Long: `Wait until every resource affected by the changes made so far is ready
or has failed. Exit code: 0 ready, 1 failed (errors printed), 3 timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			res, err := c.Wait(ctx, name, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				json.NewEncoder(a.Stdout).Encode(res)
			}
			switch res.Outcome {
			case api.OutcomeReady:
				if !asJSON {
					fmt.Fprintf(a.Stdout, "%s: settled, all ready (waited %s)\n", name, res.Waited)
				}
				return nil
			case api.OutcomeFailed:
				if !asJSON {
					a.printErrors(res.Errors)
					a.printDiagnostics(res.Diagnostics)
				}
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s: settled with failures: %s", name, failedNames(res.Errors))}
			default:
				if !asJSON {
					a.printErrors(res.Errors)
				}
				return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("%s: not settled within %s", name, timeout)}
			}
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *App) actionCmd(action, short string) *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   action + " [RESOURCE...] [-l LABEL]",
		Short: short,
		Long: short + ` (RESOURCE..., and every resource with any of the -l
labels).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel := selector(args, labels)
			if sel.Empty() {
				return fmt.Errorf("loop %s: name a RESOURCE or -l LABEL (`loop status` lists them with their labels)", action)
			}
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			return a.act(ctx, c, name, action, sel)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return a.ResourceNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
		},
	}
	a.labelFlag(cmd, &labels)
	return cmd
}

// act runs action on what sel picks and says what it did to each.
func (a *App) act(ctx context.Context, c *api.Client, project, action string, sel api.Selector) error {
	reply, err := c.Act(ctx, project, action, sel)
	if err != nil {
		return err // names the action and resource, or what the project has
	}
	for _, r := range reply.Resources {
		fmt.Fprintf(a.Stdout, "%s: %s\n", r, pastTense(action))
	}
	return nil
}

func pastTense(action string) string {
	switch action {
	case api.ActionTrigger:
		return "triggered"
	case api.ActionRestart:
		return "restarting"
	case api.ActionStop:
		return "stopped (`loop up` starts it again)"
	}
	return action + "d"
}

// completionProject is the snapshot of the project shell completion
// completes from; nil when it is not up (completion offers nothing).
func (a *App) completionProject(ctx context.Context) *api.Project {
	c, name, err := a.Running(ctx)
	if err != nil {
		return nil
	}
	p, err := c.Project(ctx, name)
	if err != nil {
		return nil
	}
	return p
}

// ResourceNames serves shell completion.
func (a *App) ResourceNames(ctx context.Context) []string {
	p := a.completionProject(ctx)
	if p == nil {
		return nil
	}
	var names []string
	for _, r := range p.Resources {
		names = append(names, r.Name)
	}
	return names
}
