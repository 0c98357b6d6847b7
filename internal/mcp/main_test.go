package mcpserver_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/daemon"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// binDir holds loop and loopd built for the end-to-end tests (on first use).
var (
	binDir   string
	binOnce  sync.Once
	binError error
)

func TestMain(m *testing.M) {
	// The daemon re-executes its own binary as the reaper sidecar and as
	// the Loopfile evaluator.
	if len(os.Args) > 1 && os.Args[1] == process.ReaperArg {
		os.Exit(process.ReaperMain(os.Stdin))
	}
	if len(os.Args) > 1 && os.Args[1] == sandbox.Arg {
		os.Exit(sandbox.Main())
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "loopmcpbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binaries builds ./cmd/loop and ./cmd/loopd (static) once and returns
// the path of loop; loopd is next to it, where `loop` looks for it.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		for _, name := range []string{"loop", "loopd"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "github.com/loopdev/loop/cmd/"+name)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binError = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return filepath.Join(binDir, "loop")
}

// shortHome returns a fresh LOOP_HOME short enough for a Unix socket path.
func shortHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	return home
}

// startDaemon runs an in-process loopd on a temp home (no HTTP listener).
func startDaemon(t *testing.T) *api.Client {
	t.Helper()
	t.Setenv("LOOP_HTTP_ADDR", "off")
	home := shortHome(t)
	d := &daemon.Daemon{Home: home, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	c := api.NewClient(loophome.Socket(home))
	waitDaemon(t, c)
	return c
}

// waitDaemon polls until the daemon answers.
func waitDaemon(t *testing.T, c *api.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Version(context.Background()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not answer within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// goProject writes a Go module with a build task and returns its directory.
func goProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {}\n",
		// go build writes the binary "hello" into the watched directory.
		"Loopfile": `task("build", cmd="go build ./...", deps=["."], ignore=["hello"])` + "\n" +
			`task("spam", cmd="for i in $(seq 1 120); do echo spam line $i; done", deps=[])` + "\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// breakGo makes main.go fail to compile at main.go:4:2.
func breakGo(t *testing.T, dir string) {
	t.Helper()
	src := "package main\n\nfunc main() {\n\tundefinedThing()\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// caller is what the tests need from an MCP client: mcp-go's and the
// official SDK's are both adapted to it.
type caller interface {
	call(t *testing.T, tool string, args map[string]any) (text string, isError bool)
}

// checkGoBuildFlow drives a whole edit loop through MCP: up a Go project,
// wait until it settles, break the build, and get the compile error with
// file:line from wait_settled and get_errors; get_logs stays bounded.
func checkGoBuildFlow(t *testing.T, c caller, dir string) {
	t.Helper()
	text, isErr := c.call(t, "up", map[string]any{"path": dir})
	if isErr || !strings.Contains(text, "is up") {
		t.Fatalf("up = %q (error %v); want the project up", text, isErr)
	}
	project := filepath.Base(dir)
	text, isErr = c.call(t, "wait_settled", map[string]any{"project": project, "timeout_seconds": 120})
	if isErr || !strings.Contains(text, "outcome: ready") {
		t.Fatalf("wait_settled = %q; want outcome: ready", text)
	}

	breakGo(t, dir)
	text, isErr = c.call(t, "wait_settled", map[string]any{"project": project, "timeout_seconds": 120})
	if isErr || !strings.Contains(text, "outcome: failed") {
		t.Fatalf("wait_settled after the edit = %q; want outcome: failed", text)
	}
	// The diagnostic carries the absolute path; the error's last output
	// lines carry go build's own ./main.go:4:2.
	abs := filepath.Join(dir, "main.go") + ":4:2: error: undefined: undefinedThing"
	if !strings.Contains(text, "diagnostics (1):\n- "+abs) || !strings.Contains(text, "| ./main.go:4:2: undefined: undefinedThing") {
		t.Fatalf("wait_settled after the edit = %q; want the diagnostic %s and the output line", text, abs)
	}
	text, isErr = c.call(t, "get_errors", map[string]any{"project": project})
	if isErr || !strings.Contains(text, abs) {
		t.Errorf("get_errors = %q; want %s", text, abs)
	}

	text, isErr = c.call(t, "get_logs", map[string]any{"project": project, "resource": "spam", "tail": 5})
	m := regexp.MustCompile(`returned 5 of (\d+) lines`).FindStringSubmatch(text)
	if isErr || m == nil || len(m[1]) < 3 || !strings.Contains(text, "spam line 120") {
		t.Errorf("get_logs tail 5 = %q; want the last 5 of 120+ lines", text)
	}
	if n := strings.Count(text, "\n"); n != 6 {
		t.Errorf("get_logs tail 5 = %d lines with the count line, want 6:\n%s", n, text)
	}
}
