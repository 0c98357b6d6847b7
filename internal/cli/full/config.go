package full

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
)

func (a *app) configCmd() *cobra.Command {
	var showOrigin bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print loop's effective configuration: defaults, policy rules, template sources",
		Long: `loop config prints every effective configuration value (docs/config.md):
the built-in defaults, the organisation's file ($LOOP_ORG_CONFIG or
/etc/loop/config.yaml), the user's file ($LOOP_CONFIG or
~/.config/loop/config.yaml) and the LOOP_* environment variables, and in a
project (a Loopfile here or above, or -f) the Loopfile's watch_settings() and
slo_targets() too, with what the policy finds in the project. It does not
need loopd. --show-origin says where each value comes from: "default", a
file:line, "Loopfile:LINE" or "env NAME".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(os.Getenv)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitFailed, Err: err}
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(a.Stderr, "loop: warning: %s\n", w)
			}
			var p *model.Project
			if lf, err := a.FindLoopfile(); err == nil {
				p, err = loopfile.Load(cmd.Context(), lf, loopfile.Options{Env: os.Environ(), Stdout: a.Stderr})
				if err != nil {
					fmt.Fprintf(a.Stderr, "loop: warning: the Loopfile does not evaluate, so its settings are not shown: %v\n", err)
				} else {
					cfg = cfg.ForProject(p)
				}
			} else if a.Loopfile != "" {
				return &cli.ExitError{Code: cli.ExitFailed, Err: err}
			}
			printConfig(a.Stdout, cfg, showOrigin)
			if p != nil {
				printFindings(a.Stdout, p, cfg.Policy)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&showOrigin, "show-origin", false, "print where each value comes from")
	return cmd
}

// printConfig prints one line per value: key, value and, with origins,
// where it comes from.
func printConfig(w io.Writer, c *config.Config, origins bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(key, value string, o fmt.Stringer) {
		if origins {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", key, value, o)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", key, value)
		}
	}
	dur := func(d time.Duration) string {
		const day = 24 * time.Hour
		switch {
		case d >= 7*day && d%(7*day) == 0:
			return fmt.Sprintf("%dw", d/(7*day))
		case d >= day && d%day == 0:
			return fmt.Sprintf("%dd", d/day)
		}
		return d.String()
	}
	line("watch.debounce", dur(c.Watch.Debounce.V), c.Watch.Debounce.Origin)
	line("watch.max_wait", dur(c.Watch.MaxWait.V), c.Watch.MaxWait.Origin)
	for _, v := range c.Watch.Ignore {
		line("watch.ignore", v.V, v.Origin)
	}
	if len(c.Watch.Ignore) == 0 {
		line("watch.ignore", "[]", config.Origin{})
	}
	line("slo.save_to_live_p95", dur(c.SLO.SaveToLiveP95.V), c.SLO.SaveToLiveP95.Origin)
	line("slo.build_success", strconv.FormatFloat(c.SLO.BuildSuccess.V, 'g', -1, 64), c.SLO.BuildSuccess.Origin)
	line("slo.availability", strconv.FormatFloat(c.SLO.Availability.V, 'g', -1, 64), c.SLO.Availability.Origin)
	every := "off"
	if c.Feedback.Every.V > 0 {
		every = dur(c.Feedback.Every.V)
	}
	line("feedback.every", every, c.Feedback.Every.Origin)
	endpoint := c.Telemetry.Endpoint.V
	if endpoint == "" {
		endpoint = `""`
	}
	line("telemetry.endpoint", endpoint, c.Telemetry.Endpoint.Origin)
	line("telemetry.project_names", strconv.FormatBool(c.Telemetry.ProjectNames.V), c.Telemetry.ProjectNames.Origin)
	line("telemetry.interval", c.Telemetry.Interval.V.String(), c.Telemetry.Interval.Origin)
	for _, t := range c.Templates {
		line("templates", t.V, t.Origin)
	}
	if len(c.Templates) == 0 {
		line("templates", "[]", config.Origin{})
	}
	for _, r := range c.Policy {
		line("policy."+r.Name, fmt.Sprintf("%s %s [%s]", r.Level, policy.ValuesKey(r.Name), strings.Join(r.Values, ", ")), origin(r.Origin))
	}
	if len(c.Policy) == 0 {
		line("policy", "none", config.Origin{})
	}
	tw.Flush()
}

// origin prints a policy rule's origin as it is.
type origin string

func (o origin) String() string { return string(o) }

// printFindings prints what the policy finds in the project, as loopd
// will: warnings, denies (loopd refuses the Loopfile), waived denies.
func printFindings(w io.Writer, p *model.Project, rules []policy.Rule) {
	fs := policy.Check(p, rules)
	warnings := policy.Waive(p, fs)
	if len(fs) == 0 && len(p.PolicyExceptions) == 0 {
		return
	}
	fmt.Fprintf(w, "\npolicy findings in %s:\n", p.Loopfile)
	for _, f := range fs {
		if f.Blocks() {
			fmt.Fprintf(w, "  deny: %s: %s\n    hint: %s\n", policy.RelPos(p.Dir, f.Pos), f.Msg, f.Hint())
		}
	}
	for _, s := range warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
	for _, pe := range p.PolicyExceptions {
		fmt.Fprintf(w, "  exception: %s at %s: %s (waives %d)\n", pe.Rule, policy.RelPos(p.Dir, pe.Pos), pe.Reason, len(pe.Waives))
	}
}
