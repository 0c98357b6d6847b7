package lsp_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// project is a loopd of its own (LOOP_HOME) and a project directory.
type project struct {
	t    *testing.T
	home string
	dir  string
}

func newProject(t *testing.T) *project {
	t.Helper()
	home, err := os.MkdirTemp("", "lh") // short: the socket path limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	p := &project{t: t, home: home, dir: filepath.Join(t.TempDir(), "app")}
	if err := os.Mkdir(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, code := p.loop("daemon", "stop"); code != 0 {
			t.Errorf("loop daemon stop: exit %d: %s", code, out)
		}
	})
	return p
}

func (p *project) env() []string { return []string{"LOOP_HOME=" + p.home, "NO_COLOR=1"} }

// loop runs the CLI in the project directory and returns its output and
// exit code.
func (p *project) loop(args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.loop, args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return out.String(), ee.ExitCode()
	}
	p.t.Fatalf("loop %s: %v\n%s", strings.Join(args, " "), err, out.String())
	return "", 0
}

const (
	goodMain = "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n"
	badMain  = "package main\n\nfunc main() {\n\tprintln(undefinedName)\n}\n"
)

// TestLSP_runtimeDiagnostics: a Go task fails to build under loopd; the
// compile error reaches the editor as a diagnostic on main.go, and clears
// when the build is fixed. Commands trigger the task.
func TestLSP_runtimeDiagnostics(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command for the project's build task")
	}
	p := newProject(t)
	writeFile(t, filepath.Join(p.dir, "go.mod"), "module example.com/app\n\ngo 1.21\n")
	writeFile(t, filepath.Join(p.dir, "main.go"), goodMain)
	writeFile(t, filepath.Join(p.dir, "Loopfile"), "task(\"build\", cmd = \"go build ./...\", deps = [\".\"])\n")
	if out, code := p.loop("up", "-d"); code != 0 {
		t.Fatalf("loop up -d: exit %d\n%s", code, out)
	}
	if out, code := p.loop("wait", "--timeout", "60s"); code != 0 {
		t.Fatalf("loop wait: exit %d\n%s", code, out)
	}

	c := startLSP(t, p.dir, p.env()...)
	mainGo := filepath.Join(p.dir, "main.go")
	from := c.mark()

	replaceFile(t, mainGo, badMain)
	out, code := p.loop("wait", "--timeout", "60s")
	if code == 0 {
		t.Fatalf("loop wait after breaking main.go: exit 0, want a failure\n%s", out)
	}
	// Does loopd report the compile error at all? Ask it directly, so a
	// missing piece upstream of the LSP is named as such.
	ac := api.NewClient(filepath.Join(p.home, "loopd.sock"))
	ds, err := ac.Errors(context.Background(), "app")
	if err != nil {
		t.Fatalf("GET errors: %v", err)
	}
	onMain := false
	for _, d := range ds {
		onMain = onMain || d.File == mainGo
	}
	if !onMain {
		t.Skipf("loopd reports no diagnostic for main.go (got %+v): the engine's diagnostics "+
			"(api.Resource.Diagnostics from a failed run's output, GET /v1/projects/NAME/errors) are missing; "+
			"loop wait said:\n%s", ds, out)
	}

	got, from := c.waitDiagnostics(from, uri(mainGo), func(ds []diagnostic) bool {
		return len(ds) > 0 && strings.Contains(ds[0].Message, "undefinedName")
	})
	d := got[0]
	if d.Range.Start.Line != 3 || d.Range.Start.Character != 9 || d.Range.End.Character != 22 {
		t.Errorf("range: got %+v, want 3:9-3:22 (undefinedName)", d.Range)
	}
	if !strings.Contains(d.Message, "undefined: undefinedName") || d.Severity != 1 || d.Source != "loop: build" {
		t.Errorf("got %+v, want the compile error, severity 1, source \"loop: build\"", d)
	}

	// Commands reach loopd.
	if _, err := c.request("workspace/executeCommand", map[string]any{"command": "loop.trigger", "arguments": []any{"build"}}); err != nil {
		t.Errorf("loop.trigger build: %v", err)
	}
	// An unknown resource is a parameter that names nothing: Invalid params.
	_, rerr := c.request("workspace/executeCommand", map[string]any{"command": "loop.restart", "arguments": []any{"nope"}})
	if rerr == nil || rerr.Code != -32602 || !strings.Contains(rerr.Message, `no resource "nope" in project app; its resources: build`) {
		t.Errorf("loop.restart of an unknown resource: got %v, want -32602 naming the resources", rerr)
	}

	// Fixed: the diagnostics clear.
	replaceFile(t, mainGo, goodMain)
	if out, code := p.loop("wait", "--timeout", "60s"); code != 0 {
		t.Fatalf("loop wait after fixing main.go: exit %d\n%s", code, out)
	}
	c.waitDiagnostics(from, uri(mainGo), func(ds []diagnostic) bool { return len(ds) == 0 })
}

// replaceFile replaces a file at once (write and rename), so loopd's
// watcher never sees it half written. The temporary name ends in "~",
// which the watcher ignores.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// executeCommand's errors: wrong parameters are Invalid params (-32602);
// a well-formed command that cannot be done is RequestFailed (-32803).
func TestLSP_commandErrors(t *testing.T) {
	dir, c := newWorkspace(t) // a LOOP_HOME of its own, where no loopd runs
	c.open(filepath.Join(dir, "Loopfile"), "task(\"build\", \"true\")\n")
	for _, tc := range []struct {
		command string
		args    []any
		code    int
		want    string
	}{
		{"loop.nope", []any{"build"}, -32602, `unknown command "loop.nope"`},
		{"loop.restart", []any{}, -32602, "want one argument, the resource name; got 0"},
		{"loop.restart", []any{"a", "b"}, -32602, "want one argument"},
		{"loop.trigger", []any{5}, -32602, "must be a resource name"},
		{"loop.trigger", []any{""}, -32602, "must be a resource name"},
		{"loop.trigger", []any{"build"}, -32803, "loopd is not running"},
	} {
		_, err := c.request("workspace/executeCommand", map[string]any{"command": tc.command, "arguments": tc.args})
		if err == nil || err.Code != tc.code || !strings.Contains(err.Message, tc.want) {
			t.Errorf("%s %v: got %v, want %d and %q", tc.command, tc.args, err, tc.code, tc.want)
		}
	}
}
