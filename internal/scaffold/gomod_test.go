package scaffold

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBuiltin_goModules renders every embedded template with a go.mod and
// checks its module files against the real toolchain: after one `go mod
// download` (what the Dockerfile's dev stage runs), the project vets,
// builds and passes its own tests with the module proxy off and go.mod
// read-only (go.mod and go.sum lack nothing), and `go mod tidy -diff`
// finds nothing to change (go.sum holds exactly the lines needed). The
// go-http template's tests include a request's OpenTelemetry span.
func TestBuiltin_goModules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain on PATH")
	}
	ts, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range ts {
		vals, err := tmpl.Resolve(map[string]string{"Name": "demo"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		files, err := tmpl.Render(dir, vals, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(files, "go.mod") {
			continue
		}
		t.Run(tmpl.Name, func(t *testing.T) {
			goCmd(t, dir, nil, "mod", "download")
			offline := []string{"GOPROXY=off"}
			goCmd(t, dir, offline, "vet", "./...")
			goCmd(t, dir, offline, "build", "-o", filepath.Join(t.TempDir(), "demo"), ".")
			goCmd(t, dir, offline, "test", "-count=1", "./...")
			goCmd(t, dir, nil, "mod", "tidy", "-diff")
		})
	}
}

// goCmd runs go with args in dir, go.mod read-only, the local toolchain
// and no workspace, plus env; it fails the test with the output.
func goCmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s in the rendered project: %v\n%s", strings.Join(append([]string{"go"}, args...), " "), err, out)
	}
}
