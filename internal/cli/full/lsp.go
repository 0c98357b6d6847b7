package full

import (
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/lsp"
)

// lspCmd serves the language server over stdio. It never starts loopd: the
// runtime diagnostics and commands appear once `loop up` runs.
func (a *app) lspCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Language server for Loopfiles and loop's runtime diagnostics (stdio)",
		Long: `lsp speaks the Language Server Protocol on stdin/stdout: completion, hover,
signature help, go to definition and evaluation errors for Loopfiles and
*.star files, plus the compile and test errors loopd finds in the
workspace's running project (when loopd runs). See docs/editors.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			var loopfile string // -f: the running project to follow, instead of the workspace root's
			if a.Loopfile != "" {
				abs, err := filepath.Abs(a.Loopfile)
				if err != nil {
					return err
				}
				loopfile = abs
			}
			return lsp.Run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), lsp.Options{
				Version:  a.Version,
				Socket:   loophome.Socket(loophome.Dir()),
				Loopfile: loopfile,
				Logger:   log.With("component", "lsp"),
			})
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every message to stderr")
	// Editors often pass --stdio; stdio is the only transport.
	cmd.Flags().Bool("stdio", true, "serve on stdin/stdout (the only transport; accepted for editors that pass it)")
	return cmd
}
