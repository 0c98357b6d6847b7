package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
)

func (a *app) statsCmd() *cobra.Command {
	var asJSON bool
	var since string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show inner-loop and delivery metrics, loop's SLOs and developer satisfaction",
		Long: `Show the platform metrics loopd derives from its event log (docs/metrics.md):
per resource save-to-live p50/p95, success rate and restarts; time to first
ready; deploys per week, lead time and change failure rate of loop ship;
loop's SLOs with their error budgets; NPS of loop feedback. -p limits it to
one project. It starts loopd when it is not running: the figures come from
the store in $LOOP_HOME, which outlives the daemon.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			st, err := c.Stats(cmd.Context(), since, a.project)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			a.printStats(st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&since, "since", "7d", "window: days (7d), weeks (2w) or a duration (36h)")
	return cmd
}

func (a *app) printStats(st api.Stats) {
	pr := newPrinter(a.stdout, a.color)
	fmt.Fprintf(a.stdout, "since %s\n\n", st.Since.Local().Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tRESOURCE\tSAVE-TO-LIVE p50\tp95\tRUNS\tSUCCESS\tRESTARTS\tCRASHES")
	for _, r := range st.Resources {
		p50, p95 := "-", "-"
		if r.SaveToLive.Count > 0 {
			p50, p95 = short(r.SaveToLive.P50), short(r.SaveToLive.P95)
		}
		success := "-"
		if r.Runs > 0 {
			success = fmt.Sprintf("%.0f%%", 100*r.SuccessRate)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\n", r.Project, r.Resource, p50, p95, r.Runs, success, r.Restarts, r.Crashes)
	}
	tw.Flush()
	if len(st.Resources) == 0 {
		fmt.Fprintln(a.stdout, "(no runs recorded in this window)")
	}
	fmt.Fprintln(a.stdout)
	if st.TimeToFirstReady.Count > 0 {
		fmt.Fprintf(a.stdout, "time to first ready: p50 %s, p95 %s (%d ups)\n", short(st.TimeToFirstReady.P50), short(st.TimeToFirstReady.P95), st.TimeToFirstReady.Count)
	}
	fmt.Fprintf(a.stdout, "deploys: %d (%.1f/week), change failure rate %.0f%% (%d failed)", st.Deploys, st.DeploysPerWeek, 100*st.ChangeFailRate, st.FailedShips)
	if st.LeadTime.Count > 0 {
		fmt.Fprintf(a.stdout, ", lead time p50 %s, p95 %s", short(st.LeadTime.P50), short(st.LeadTime.P95))
	}
	fmt.Fprintln(a.stdout)
	fmt.Fprintln(a.stdout)
	printSLOs(a.stdout, pr, st.SLOs)
	if st.NPS != nil {
		fmt.Fprintf(a.stdout, "\nNPS %+.0f from %d answers (%d promoters, %d passives, %d detractors)\n",
			st.NPS.Score, st.NPS.Responses, st.NPS.Promoters, st.NPS.Passives, st.NPS.Detractors)
	} else {
		fmt.Fprintln(a.stdout, "\nNPS: no answers yet (`loop feedback`)")
	}
	if st.StoreError != "" || st.StoreErrors > 0 {
		fmt.Fprintf(a.stdout, "\n%s metrics store: %d failed writes; last: %s\n", pr.paint(yellow, "!"), st.StoreErrors, st.StoreError)
	}
}

// printSLOs prints one line per SLO with its error budget (also used by
// `loop doctor`).
func printSLOs(w io.Writer, pr *printer, slos []api.SLO) {
	for _, s := range slos {
		mark := pr.paint(green, "✓")
		if !s.Met {
			mark = pr.paint(yellow, "!")
		}
		target, actual := fmt.Sprintf("%.1f%%", 100*s.Target), fmt.Sprintf("%.2f%%", 100*s.Actual)
		if s.Unit == "seconds" {
			target, actual = short(time.Duration(s.Target*float64(time.Second))), short(time.Duration(s.Actual*float64(time.Second)))
		}
		fmt.Fprintf(w, "%s SLO %s: %s (target %s), error budget %.0f%% left\n", mark, s.Name, actual, target, 100*s.BudgetLeft)
	}
}

// short rounds a duration for a table.
func short(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}
