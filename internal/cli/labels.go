package cli

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
)

// labelFlagUsage is -l's help, the same on every command that selects.
const labelFlagUsage = "resources with any of these labels (repeat -l, or -l a,b); with RESOURCE... as well, both"

// labelFlag adds -l/--label to cmd, completed with the running project's
// labels. loopd resolves the selection (api.Selector): a label no
// resource has is an error that lists the project's labels.
func (a *App) labelFlag(cmd *cobra.Command, labels *[]string) {
	cmd.Flags().StringSliceVarP(labels, "label", "l", nil, labelFlagUsage)
	cmd.RegisterFlagCompletionFunc("label", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return a.labelNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
	})
}

// labelNames serves shell completion.
func (a *App) labelNames(ctx context.Context) []string {
	p := a.completionProject(ctx)
	if p == nil {
		return nil
	}
	var ls []string
	for _, r := range p.Resources {
		for _, l := range r.Labels {
			if !slices.Contains(ls, l) {
				ls = append(ls, l)
			}
		}
	}
	slices.Sort(ls)
	return ls
}

// selector is what RESOURCE... and -l pick.
func selector(names, labels []string) api.Selector {
	return api.Selector{Resources: names, Labels: labels}
}
