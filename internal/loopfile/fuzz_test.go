package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.starlark.net/starlark"
)

// fuzzSteps is the Starlark step limit of FuzzLoopfile: enough for every
// seed, small enough that a loop the fuzzer writes ends quickly.
const fuzzSteps = 20_000

// fuzzFiles are the project files a fuzzed Loopfile may name.
var fuzzFiles = map[string]string{
	"Dockerfile":                      "FROM alpine:3\n",
	"src/main.go":                     "package main\n",
	"lib.star":                        "def svc(name):\n    return service(name, \"true\")\nPORT = 8080\n",
	".devcontainer/devcontainer.json": `{"image": "alpine:3", "forwardPorts": [3000]}`,
	"docker-compose.yml":              "services:\n  web:\n    image: alpine:3\n    ports: [\"8080:80\"]\n    develop:\n      watch:\n        - action: sync\n          path: ./src\n          target: /app\n",
	"openapi.yaml":                    "openapi: 3.0.0\ninfo: {title: t, version: \"1\"}\npaths: {}\n",
	"docs/index.md":                   "# Docs\n",
	"greeting.txt":                    "hi\n",
}

// FuzzLoopfile evaluates arbitrary Loopfile source in a temp project with
// a low step limit. local() is replaced by a stand-in that runs nothing
// (a test-only plugin, registered last so it wins), so the fuzzer never
// executes commands. Whatever the source: no panic, and every error is a
// *loopfile.Error with a file and a line:col.
//
// The seed corpus (testdata/fuzz/FuzzLoopfile) holds the repository's
// Loopfiles (Loopfile.example, examples/, the scaffold templates) and
// every testdata/errors/*.star.
func FuzzLoopfile(f *testing.F) {
	saved := plugins
	local := *localBuiltin
	local.fn = func(*starlark.Thread, *args) (starlark.Value, error) { return starlark.String(""), nil }
	plugins = append(slices.Clip(plugins), &plugin{builtins: []*builtin{&local}})
	f.Cleanup(func() { plugins = saved })

	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		for name, body := range fuzzFiles {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		loopfile := filepath.Join(dir, "Loopfile")
		if err := os.WriteFile(loopfile, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(context.Background(), loopfile, Options{
			Env:      []string{"PATH=", "HOME=" + dir, "API_PORT=8080"},
			MaxSteps: fuzzSteps,
		})
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Load: %v (%T), want a *loopfile.Error", err, err)
		}
		if e.File == "" || e.Line < 1 || e.Col < 1 {
			t.Fatalf("Load: %q at %q:%d:%d, want a file:line:col", e.Msg, e.File, e.Line, e.Col)
		}
	})
}

// FuzzCompose loads arbitrary YAML as the docker-compose.yml of a
// Loopfile that calls compose(): no panic, and every error a
// *loopfile.Error with a file and a line:col (in the Compose file when
// compose-go says where, else at the compose() call).
//
// The seed corpus (testdata/fuzz/FuzzCompose) holds the Compose files of
// testdata/compose and testdata/compose-broken.
func FuzzCompose(f *testing.F) {
	f.Fuzz(func(t *testing.T, yaml string) {
		dir := t.TempDir()
		for name, body := range map[string]string{
			"Loopfile":           "\ncompose()\n",
			"docker-compose.yml": yaml,
			"web/Dockerfile":     "FROM alpine:3\n",
			"src/main.go":        "package main\n",
		} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Load(context.Background(), filepath.Join(dir, "Loopfile"), Options{
			Env: []string{"PATH=", "HOME=" + dir}, MaxSteps: fuzzSteps,
		})
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Load: %v (%T), want a *loopfile.Error", err, err)
		}
		if e.File == "" || e.Line < 1 || e.Col < 1 {
			t.Fatalf("Load: %q at %q:%d:%d, want a file:line:col", e.Msg, e.File, e.Line, e.Col)
		}
	})
}
