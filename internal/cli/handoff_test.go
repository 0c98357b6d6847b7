package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/buildinfo"
)

// TestHandsOff: the thin binary hands a command line to loopd's binary
// exactly when it runs, asks help for or completes a command of
// handedOff, wherever the root's flags are.
func TestHandsOff(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{"mcp"}, true},
		{[]string{"exec", "web", "--", "status"}, true},
		{[]string{"-p", "shop", "doctor"}, true},
		{[]string{"--project", "status", "lsp"}, true}, // "status" is -p's value
		{[]string{"--project=x", "ship", "--dry-run"}, true},
		{[]string{"daemon", "run"}, true},
		{[]string{"help", "new"}, true},
		{[]string{"__complete", "db", ""}, true},
		{[]string{"__completeNoDesc", "trace", ""}, true},
		{[]string{"status"}, false},
		{[]string{"status", "mcp"}, false}, // a resource named mcp
		{[]string{"logs", "-f", "exec"}, false},
		{[]string{"daemon", "stop"}, false},
		{[]string{"daemon"}, false},
		{[]string{"help"}, false},
		{[]string{"__complete", ""}, false},
		{[]string{"--version"}, false},
		{[]string{"up", "--", "doctor"}, false},
		{nil, false},
	} {
		if got := handsOff(tc.argv); got != tc.want {
			t.Errorf("handsOff(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
}

// TestNewRoot_stubs: without tools, every handed-off command is in the
// tree (for help and completion), passes its arguments through unparsed,
// and says where it runs when it has no command line to hand off.
func TestNewRoot_stubs(t *testing.T) {
	root := NewRoot(buildinfo.Info{Version: "test"}, nil)
	for _, h := range handedOff {
		path := strings.Fields(h.path)
		cmd, rest, err := root.Find(path)
		if err != nil || len(rest) != 0 || cmd.Name() != path[len(path)-1] {
			t.Fatalf("Find(%q) = %q, %q, %v", path, cmd.CommandPath(), rest, err)
		}
		if !cmd.DisableFlagParsing || cmd.Short != h.short {
			t.Errorf("loop %s: DisableFlagParsing %v, Short %q; want a stub with %q", h.path, cmd.DisableFlagParsing, cmd.Short, h.short)
		}
	}
	root.SetArgs([]string{"mcp", "--bogus"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "runs in loopd's binary") {
		t.Errorf("a stub run without Main = %v; want it to say where it runs", err)
	}
}

// TestPruneBuilds: the cache keeps the newest builds only.
func TestPruneBuilds(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i, name := range []string{"devel-a", "devel-b", "devel-c", "devel-d", "v0.1.0"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now, now.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	pruneBuilds(dir, 3)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "devel-c devel-d v0.1.0" {
		t.Errorf("after pruning: %q; want the three newest", left)
	}
}
