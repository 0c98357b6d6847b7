package full

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/scaffold"
)

// newCmd is `loop new`: a project from an embedded or team template.
func (a *app) newCmd() *cobra.Command {
	var (
		list    bool
		dir     string
		force   bool
		sets    []string
		tmplDir []string
	)
	cmd := &cobra.Command{
		Use:   "new TEMPLATE NAME",
		Short: "Create a project from a golden-path or team template",
		Long: `loop new generates a project: source with tests, Dockerfile (dev and prod
targets), Loopfile, devcontainer, CI pipelines, catalog metadata and a README.

Templates are embedded in loop, or come from directories and git URLs listed in,
in this order (a template shadows one of the same name from earlier):
  the organisation's config file   /etc/loop/config.yaml ($LOOP_ORG_CONFIG)
  the user's config file           ~/.config/loop/config.yaml ($LOOP_CONFIG)
  $LOOP_TEMPLATES                  comma-separated
  --template-dir                   repeatable
A config file holds "templates: [DIR_OR_URL, ...]" (docs/templates.md).
Missing parameters are asked for on a terminal; --set NAME=VALUE gives them.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return nil
			}
			if len(args) != 2 {
				return &cli.ExitError{Code: cli.ExitUsage, Err: errors.New("new: give TEMPLATE and NAME (loop new --list shows the templates)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(os.Getenv)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitUsage, Err: err}
			}
			sources := append(cfg.TemplateSources(), tmplDir...)
			all, cleanup, err := scaffold.Sources(cmd.Context(), sources)
			defer cleanup()
			if err != nil {
				return err
			}
			if list {
				for _, t := range all {
					fmt.Fprintf(a.Stdout, "%-14s %s (%s)\n", t.Name, t.Description, t.Source)
				}
				return nil
			}
			t, err := scaffold.Find(all, args[0])
			if err != nil {
				return &cli.ExitError{Code: cli.ExitUsage, Err: err}
			}
			given := map[string]string{"Name": args[1]}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("new: --set %q: want NAME=VALUE", s)}
				}
				given[k] = v
			}
			var ask func(scaffold.Param, string) (string, error)
			if cli.IsTerminal(os.Stdin) && cli.IsTerminal(os.Stdout) {
				in := bufio.NewReader(os.Stdin)
				ask = func(p scaffold.Param, problem string) (string, error) {
					if problem != "" {
						fmt.Fprintf(a.Stdout, "  %s\n", problem)
					}
					prompt := p.Prompt
					if prompt == "" {
						prompt = p.Name
					}
					if p.Default != "" {
						prompt += " [" + p.Default + "]"
					}
					fmt.Fprintf(a.Stdout, "%s: ", prompt)
					line, err := in.ReadString('\n')
					if err != nil && line == "" {
						return "", err
					}
					return strings.TrimSpace(line), nil
				}
			}
			vals, err := t.Resolve(given, ask)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitUsage, Err: err}
			}
			if dir == "" {
				dir = args[1]
			}
			files, err := t.Render(dir, vals, force)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(dir)
			fmt.Fprintf(a.Stdout, "created %s from %s (%d files)\n\nnext:\n  cd %s\n  loop up\n", abs, t.Name, len(files), dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list the available templates")
	cmd.Flags().StringVar(&dir, "dir", "", "target directory (default: ./NAME)")
	cmd.Flags().BoolVar(&force, "force", false, "write into an existing non-empty directory")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "a parameter value, `NAME=VALUE` (repeatable)")
	cmd.Flags().StringArrayVar(&tmplDir, "template-dir", nil, "a directory or git URL of team templates (repeatable)")
	return cmd
}
