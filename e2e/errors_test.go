//go:build linux

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// A Go compile error in a task is reported as a file:line diagnostic by
// loop wait and loop errors, and cleared after the fix.
func TestErrors_GoCompileError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "goerr")
	e.write("go.mod", "module example.com/goerr\n\ngo 1.22\n")
	good := "package main\n\nfunc main() {\n\tprintln(\"ok\")\n}\n"
	e.write("main.go", good)
	e.write("Loopfile", "task(\"build\", cmd = \"go build -o /dev/null .\", deps = [\"main.go\"])\n")
	e.up()

	e.write("main.go", "package main\n\nfunc main() {\n\tprintln(undefinedThing)\n}\n")
	r := e.loop("wait", "--timeout", "60s")
	mainGo := filepath.Join(e.dir, "main.go")
	if r.code != 1 || !strings.Contains(r.stderr, mainGo+":4:10: error: undefined: undefinedThing") {
		t.Fatalf("loop wait after a compile error: want exit 1 and %s:4:10 in the output, got %s", mainGo, r)
	}
	out := e.loop("errors", "--json")
	var ds []api.Diagnostic
	if err := json.Unmarshal([]byte(out.stdout), &ds); err != nil || len(ds) != 1 {
		t.Fatalf("loop errors --json = %s (%v); want one diagnostic", out, err)
	}
	if d := ds[0]; d.File != mainGo || d.Line != 4 || d.Col != 10 || d.Resource != "build" || d.Source != "go" {
		t.Errorf("diagnostic = %+v; want build's go error at %s:4:10", d, mainGo)
	}

	e.write("main.go", good)
	e.settled()
	if out := e.loop("errors"); out.code != 0 || strings.TrimSpace(out.stdout) != "" {
		t.Errorf("loop errors after the fix = %s; want nothing", out)
	}
}
