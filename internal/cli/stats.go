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

func (a *App) statsCmd() *cobra.Command {
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
			c, err := a.Client(cmd.Context())
			if err != nil {
				return err
			}
			st, err := c.Stats(cmd.Context(), since, a.Project)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.Stdout)
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

func (a *App) printStats(st api.Stats) {
	pr := NewPrinter(a.Stdout, a.Color)
	fmt.Fprintf(a.Stdout, "since %s\n\n", st.Since.Local().Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
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
		fmt.Fprintln(a.Stdout, "(no runs recorded in this window)")
	}
	fmt.Fprintln(a.Stdout)
	if st.TimeToFirstReady.Count > 0 {
		fmt.Fprintf(a.Stdout, "time to first ready: p50 %s, p95 %s (%d ups)\n", short(st.TimeToFirstReady.P50), short(st.TimeToFirstReady.P95), st.TimeToFirstReady.Count)
	}
	fmt.Fprintf(a.Stdout, "deploys: %d (%.1f/week), change failure rate %.0f%% (%d failed)", st.Deploys, st.DeploysPerWeek, 100*st.ChangeFailRate, st.FailedShips)
	if st.LeadTime.Count > 0 {
		fmt.Fprintf(a.Stdout, ", lead time p50 %s, p95 %s", short(st.LeadTime.P50), short(st.LeadTime.P95))
	}
	fmt.Fprintln(a.Stdout)
	fmt.Fprintln(a.Stdout)
	PrintSLOs(a.Stdout, pr, st.SLOs)
	if st.NPS != nil {
		fmt.Fprintf(a.Stdout, "\nNPS %+.0f from %d answers (%d promoters, %d passives, %d detractors)\n",
			st.NPS.Score, st.NPS.Responses, st.NPS.Promoters, st.NPS.Passives, st.NPS.Detractors)
	} else {
		fmt.Fprintln(a.Stdout, "\nNPS: no answers yet (`loop feedback`)")
	}
	if st.StoreError != "" || st.StoreErrors > 0 {
		fmt.Fprintf(a.Stdout, "\n%s metrics store: %d failed writes; last: %s\n", pr.Paint(Yellow, "!"), st.StoreErrors, st.StoreError)
	}
}

// PrintSLOs prints one line per SLO with its error budget (also used by
// `loop doctor`).
func PrintSLOs(w io.Writer, pr *Printer, slos []api.SLO) {
	for _, s := range slos {
		mark := pr.Paint(Green, "✓")
		if !s.Met {
			mark = pr.Paint(Yellow, "!")
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
