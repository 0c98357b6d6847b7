package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
)

func (a *App) errorsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "errors",
		Short: "List the diagnostics (file:line:col) found in failing resources' output",
		Long: `List the errors loop found in the output of failing resources: compiler
errors, failing tests, tracebacks, as file:line:col: message — the format
editors and CI already understand. Empty when everything is healthy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := a.Running(ctx)
			if err != nil {
				return err
			}
			ds, err := c.Errors(ctx, name)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.Stdout).Encode(ds)
			}
			for _, d := range ds {
				fmt.Fprintln(a.Stdout, formatDiagnostic(d))
			}
			if len(ds) > 0 {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d problem(s) in %s", len(ds), name)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// formatDiagnostic renders "file:line:col: severity: message [resource]".
func formatDiagnostic(d api.Diagnostic) string {
	loc := d.File
	if loc == "" {
		loc = d.Resource
	}
	if d.Line > 0 {
		loc += fmt.Sprintf(":%d", d.Line)
		if d.Col > 0 {
			loc += fmt.Sprintf(":%d", d.Col)
		}
	}
	return fmt.Sprintf("%s: %s: %s [%s]", loc, d.Severity, d.Message, d.Resource)
}
