package full

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
)

// TestNewRoot_StatsAndFeedback: both commands are reachable from the root
// with the flags docs/metrics.md and the README give them.
func TestNewRoot_StatsAndFeedback(t *testing.T) {
	for _, tc := range []struct {
		path  []string
		flags []string // documented flags
		use   string   // the usage line the help shows
	}{
		{[]string{"stats"}, []string{"json", "since", "project"}, "loop stats [flags]"},
		{[]string{"feedback"}, []string{"comment", "project"}, "loop feedback [SCORE] [flags]"},
	} {
		t.Run(strings.Join(tc.path, " "), func(t *testing.T) {
			root := NewRoot(buildinfo.Info{Version: "test"})
			cmd, rest, err := root.Find(tc.path)
			if err != nil || len(rest) != 0 || cmd == root {
				t.Fatalf("Find(%q) = %q, %q, %v; want the command", tc.path, cmd.CommandPath(), rest, err)
			}
			for _, f := range tc.flags {
				if cmd.Flags().Lookup(f) == nil && cmd.InheritedFlags().Lookup(f) == nil {
					t.Errorf("loop %s has no --%s", cmd.Name(), f)
				}
			}
			if cmd.Flags().Lookup("file") != nil {
				t.Errorf("loop %s has -f/--file, but it reads no Loopfile", cmd.Name())
			}
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(append(tc.path, "--help"))
			if err := root.Execute(); err != nil {
				t.Fatalf("loop %s --help: %v", cmd.Name(), err)
			}
			if !strings.Contains(out.String(), "Usage:\n  "+tc.use) {
				t.Errorf("loop %s --help printed:\n%s\nwant the usage %q", cmd.Name(), out.String(), tc.use)
			}
		})
	}
}

func TestStatsCmd_SinceDefault(t *testing.T) {
	f := NewRoot(buildinfo.Info{Version: "test"})
	cmd, _, _ := f.Find([]string{"stats"})
	if got := cmd.Flags().Lookup("since").DefValue; got != "7d" {
		t.Errorf("--since defaults to %q; docs/metrics.md says 7d", got)
	}
}

// TestNewDaemonRoot_HelpAndStrayArguments: `loopd --help` prints its usage
// (before, loopd ignored its arguments and started a daemon), lists the
// internal commands, and a stray argument or flag is a usage error.
func TestNewDaemonRoot_HelpAndStrayArguments(t *testing.T) {
	var out bytes.Buffer
	root := NewDaemonRoot(buildinfo.Info{Version: "test"})
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatalf("loopd --help: %v", err)
	}
	for _, want := range []string{"Usage:\n  loopd [flags]", "__recv", "__rm", "__hash", "supervise"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("loopd --help printed:\n%s\nwant %q in it", out.String(), want)
		}
	}
	for _, args := range [][]string{{"run"}, {"--bogus"}} {
		root := NewDaemonRoot(buildinfo.Info{Version: "test"})
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
		var ee *cli.ExitError
		if !errors.As(err, &ee) || ee.Code != cli.ExitUsage || !strings.Contains(err.Error(), "loopd --help") {
			t.Errorf("loopd %s = %v; want a usage error (exit %d) pointing at loopd --help", args[0], err, cli.ExitUsage)
		}
	}
}

// TestVersion: `loop version`, `loop --version` and `loopd --version`
// print the build's one line (buildinfo.Info.Long).
func TestVersion(t *testing.T) {
	t.Setenv("LOOP_HOME", t.TempDir()) // no loopd there
	bi := buildinfo.Info{Version: "v0.1.0", Commit: "0123456789abcdef", Date: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC),
		Modified: true, Go: "go1.26.8", Platform: "linux/amd64"}
	const want = "(commit 0123456789ab, 2026-12-06T09:00:00Z, modified; API " + api.Version + "; go1.26.8 linux/amd64)\n"
	for _, tc := range []struct {
		root *cobra.Command
		args []string
		want string
	}{
		{NewRoot(bi), []string{"version"}, "loop v0.1.0-dirty " + want + "loopd not running\n"},
		{NewRoot(bi), []string{"--version"}, "loop v0.1.0-dirty " + want},
		{NewDaemonRoot(bi), []string{"--version"}, "loopd v0.1.0-dirty " + want},
	} {
		var out bytes.Buffer
		tc.root.SetOut(&out)
		tc.root.SetArgs(tc.args)
		if err := tc.root.Execute(); err != nil {
			t.Fatalf("%s %s: %v", tc.root.Name(), tc.args[0], err)
		}
		if got := out.String(); got != tc.want {
			t.Errorf("%s %s printed\n%q, want\n%q", tc.root.Name(), tc.args[0], got, tc.want)
		}
	}
}
