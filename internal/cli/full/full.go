// Package full is the whole loop command tree: package cli's commands and
// the ones cli hands off (cli's handedOff table), which link Docker,
// containerd, Kubernetes, Starlark, the LSP and MCP servers and the
// metrics store. loopd's binary runs it when started as `loop` (the thin
// `loop` binary hands those commands to it), and it is the daemon itself
// (NewDaemonRoot).
package full

import (
	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
)

// app is cli's App with this package's commands as methods.
type app struct{ *cli.App }

// Tools returns the real commands of cli's handed-off table.
func Tools(c *cli.App) map[string]*cobra.Command {
	a := &app{c}
	return map[string]*cobra.Command{
		"catalog":    a.catalogCmd(),
		"config":     a.configCmd(),
		"daemon run": a.daemonRunCmd(),
		"db":         a.dbCmd(),
		"doctor":     a.doctorCmd(),
		"exec":       a.execCmd(),
		"feedback":   a.feedbackCmd(),
		"init":       a.initCmd(),
		"lsp":        a.lspCmd(),
		"mcp":        a.mcpCmd(),
		"new":        a.newCmd(),
		"shell":      a.shellCmd(),
		"ship":       a.shipCmd(),
		"trace":      a.traceCmd(),
		"traces":     a.tracesCmd(),
	}
}

// NewRoot builds the whole loop command tree for the build bi.
func NewRoot(bi buildinfo.Info) *cobra.Command { return cli.NewRoot(bi, Tools) }

// Main runs the loop command line argv with every command here.
func Main(bi buildinfo.Info, argv []string) int { return cli.Main(bi, Tools, argv) }
