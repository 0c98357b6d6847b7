package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/buildinfo"
)

// TestNewRoot_LabelFlag: every command that selects resources takes
// -l/--label, repeatable and comma-separated, and its help says a resource
// matches when it has any of the labels.
func TestNewRoot_LabelFlag(t *testing.T) {
	for _, name := range []string{"up", "down", "ci", "status", "trigger", "restart", "enable", "disable"} {
		root := NewRoot(buildinfo.Info{Version: "test"}, nil)
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().ShorthandLookup("l")
		if f == nil || f.Name != "label" || !strings.Contains(f.Usage, "any of these labels") {
			t.Errorf("loop %s: -l = %+v; want --label, resources with any of the labels", name, f)
			continue
		}
		if err := cmd.Flags().Parse([]string{"-l", "a,b", "--label", "c"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := cmd.Flags().GetStringSlice("label"); strings.Join(got, " ") != "a b c" {
			t.Errorf("loop %s -l a,b --label c: labels %q; want a b c", name, got)
		}
		if !strings.Contains(cmd.Use, "[-l LABEL]") {
			t.Errorf("loop %s: usage %q does not show -l", name, cmd.Use)
		}
	}
}

// Bad selections are refused before loopd is asked.
func TestSelectionUsageErrors(t *testing.T) {
	t.Setenv("LOOP_HOME", t.TempDir()) // no loopd there
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trigger"}, "name a RESOURCE or -l LABEL"},
		{[]string{"disable"}, "name a RESOURCE or -l LABEL"},
		{[]string{"down", "--volumes", "-l", "db"}, "without RESOURCE or -l"},
	} {
		root := NewRoot(buildinfo.Info{Version: "test"}, nil)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tc.args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loop %s: err %v; want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestPrintStatus_Labels(t *testing.T) {
	var out bytes.Buffer
	a := &App{Stdout: &out}
	a.printStatus(&statusView{Resources: []statusRow{
		{Name: "db", Kind: "service", State: api.StateReady, Labels: []string{"database", "backend"}},
		{Name: "web", Kind: "service", State: api.StateStopped},
	}})
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "LABELS") {
		t.Fatalf("header %q: want a LABELS column", lines[0])
	}
	if f := strings.Fields(lines[1]); !strings.Contains(lines[1], "database,backend") || f[0] != "db" {
		t.Errorf("db row %q: want its labels", lines[1])
	}
	if !strings.Contains(lines[2], " - ") {
		t.Errorf("web row %q: want - for no labels", lines[2])
	}
}
