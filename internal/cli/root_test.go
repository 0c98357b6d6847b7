package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
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
			root := NewRoot("test")
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
	f := NewRoot("test")
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
	root := NewDaemonRoot("test")
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
		root := NewDaemonRoot("test")
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "loopd --help") {
			t.Errorf("loopd %s = %v; want a usage error (exit %d) pointing at loopd --help", args[0], err, ExitUsage)
		}
	}
}
