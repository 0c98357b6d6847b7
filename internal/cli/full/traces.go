package full

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/trace"
)

func (a *app) tracesCmd() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "traces [RESOURCE]",
		Short: "List the recent traces of the project's services and of loop's own work",
		Long: `List the project's recent traces, newest first: the OpenTelemetry spans
its services export to loopd (loop sets OTEL_EXPORTER_OTLP_ENDPOINT and
friends for every service, task and container), and loopd's own work on a
file change (watch, sync, restart, ready). loopd keeps the last 200 traces
of each resource in memory. 'loop trace ID' shows one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			resource := ""
			if len(args) == 1 {
				resource = args[0]
			}
			ts, err := c.Traces(ctx, name, resource, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.Stdout).Encode(ts)
			}
			if len(ts) == 0 {
				fmt.Fprintf(a.Stderr, "no traces of %s yet\n", name)
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TRACE\tRESOURCE\tROOT\tSTART\tDURATION\tSPANS\tERROR")
			for _, t := range ts {
				errMark := ""
				if t.Error {
					errMark = "error"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.TraceID, t.Resource, t.Root,
					t.Start.Local().Format("15:04:05.000"), trace.FormatDuration(t.Duration), t.Spans, errMark)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVarP(&limit, "limit", "n", 50, "how many traces at most")
	return cmd
}

func (a *app) traceCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trace TRACE_ID",
		Short: "Show one trace as a tree of spans with their durations",
		Long: `Show one trace (an id from 'loop traces', or from a log line's trace_id)
as an indented tree: each span under its parent, with its duration, its
offset from the trace's start, its resource, error status, attributes and
events.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.ExistingClient(ctx)
			if err != nil {
				return err
			}
			t, err := c.Trace(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.Stdout).Encode(t)
			}
			trace.WriteTree(a.Stdout, *t)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
