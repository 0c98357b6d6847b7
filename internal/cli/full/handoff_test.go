package full

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
)

// TestTools_sameTreeAsThin: the thin binary's tree (handed-off commands
// as stubs) and the whole one list the same commands with the same usage
// and summary, so `loop --help` says the same from either binary.
func TestTools_sameTreeAsThin(t *testing.T) {
	bi := buildinfo.Info{Version: "test"}
	thin, whole := commands(cli.NewRoot(bi, nil)), commands(NewRoot(bi))
	for path, c := range whole {
		s, ok := thin[path]
		switch {
		case !ok:
			t.Errorf("%s is in the whole tree only: add it to cli's handedOff", path)
		case s.Use != c.Use || s.Short != c.Short:
			t.Errorf("%s: thin Use %q Short %q; the real command has %q, %q", path, s.Use, s.Short, c.Use, c.Short)
		}
	}
	for path := range thin {
		if _, ok := whole[path]; !ok {
			t.Errorf("%s is in the thin tree only", path)
		}
	}
}

// commands maps the command path of every command under root (the root's
// direct commands and theirs, not the stubs' or real commands' own
// subcommands, which only the real ones have) to the command.
func commands(root *cobra.Command) map[string]*cobra.Command {
	m := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		m[c.CommandPath()] = c
		for _, sub := range c.Commands() {
			if c.Name() == "daemon" {
				m[sub.CommandPath()] = sub
			}
		}
	}
	return m
}
