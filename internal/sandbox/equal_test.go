//go:build linux

package sandbox

// The evaluator must give back exactly what loopfile.Load gives in
// process: every Loopfile of the repository (the examples, the scaffold
// templates, loopfile's error fixtures and Compose fixtures) and a fixture
// that uses every builtin group are evaluated both ways and compared.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root at %s: %v", root, err)
	}
	return root
}

// copyDir copies the tree at src into a fresh temp dir and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

var templateField = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// TestLoad_sameAsInProcess is the contract of Load.
func TestLoad_sameAsInProcess(t *testing.T) {
	root := repoRoot(t)
	type evalCase struct {
		name string
		path string
		env  []string
	}
	var cases []evalCase
	add := func(name, path string, env ...string) {
		cases = append(cases, evalCase{name, path, append([]string{"PATH=" + os.Getenv("PATH")}, env...)})
	}

	add("examples/hello", filepath.Join(copyDir(t, filepath.Join(root, "examples", "hello")), "Loopfile"), "API_PORT=9090")
	add("Loopfile.example", filepath.Join(root, "Loopfile.example"))

	// The scaffold templates, rendered with plain values, in both runtimes.
	templates, _ := filepath.Glob(filepath.Join(root, "internal", "scaffold", "templates", "*", "Loopfile"))
	for _, tmpl := range templates {
		dir := copyDir(t, filepath.Dir(tmpl))
		src, err := os.ReadFile(filepath.Join(dir, "Loopfile"))
		if err != nil {
			t.Fatal(err)
		}
		src = templateField.ReplaceAllFunc(src, func(m []byte) []byte {
			if bytes.Contains(m, []byte("Port")) {
				return []byte("8080")
			}
			return []byte("demo")
		})
		path := filepath.Join(dir, "Loopfile")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		name := "template " + filepath.Base(filepath.Dir(tmpl))
		add(name, path)
		add(name+" in a container", path, "LOOP_RUNTIME=container")
	}

	// loopfile's error fixtures: every error must cross unchanged.
	stars, _ := filepath.Glob(filepath.Join(root, "internal", "loopfile", "testdata", "errors", "*.star"))
	for _, star := range stars {
		add("errors/"+filepath.Base(star), star)
	}

	// loopfile's Compose fixtures.
	for _, name := range []string{"compose", "compose-broken"} {
		dir := copyDir(t, filepath.Join(root, "internal", "loopfile", "testdata", name))
		path := filepath.Join(dir, "Loopfile")
		if err := os.WriteFile(path, []byte("print(compose())\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		add("testdata/"+name, path, "LOG_LEVEL=debug")
	}

	add("every builtin group", everyBuiltin(t), "API_TOKEN=t", "T=tok")

	if len(cases) < 50 {
		t.Fatalf("found only %d Loopfiles: is the repository layout different?", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inOut, sbOut bytes.Buffer
			opts := loopfile.Options{Env: c.env, Stdout: &inOut}
			want, wantErr := loopfile.Load(context.Background(), c.path, opts)
			opts.Stdout = &sbOut
			got, gotErr := Load(context.Background(), c.path, opts, Limits{})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("project differs:\ngot  %+v\nwant %+v", got, want)
			}
			if want != nil && !reflect.DeepEqual(sharing(got), sharing(want)) {
				t.Errorf("shared values differ: got %v, want %v", sharing(got), sharing(want))
			}
			if !sameError(gotErr, wantErr) {
				t.Errorf("error differs:\ngot  %#v\nwant %#v", gotErr, wantErr)
			}
			if sbOut.String() != inOut.String() {
				t.Errorf("output differs:\ngot  %q\nwant %q", sbOut.String(), inOut.String())
			}
		})
	}
}

// sameError compares two Load errors: the fields, the message, and what
// their causes match.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var x, y *loopfile.Error
	if !errors.As(a, &x) || !errors.As(b, &y) {
		return false
	}
	if x.File != y.File || x.Line != y.Line || x.Col != y.Col || x.Msg != y.Msg || x.Hint != y.Hint ||
		!reflect.DeepEqual(x.Files, y.Files) || x.Error() != y.Error() || (x.Unwrap() == nil) != (y.Unwrap() == nil) {
		return false
	}
	for _, s := range causeSentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

// sharing lists which container builds are the project's images, by index:
// the model shares them, and the trip must keep that.
func sharing(p *model.Project) map[string]int {
	m := map[string]int{}
	for _, r := range p.Resources {
		if r.Container == nil || r.Container.Build == nil {
			continue
		}
		m[r.Name] = -1
		for i, img := range p.Images {
			if img == r.Container.Build {
				m[r.Name] = i
			}
		}
	}
	return m
}

// everyBuiltin writes a project that uses every group of builtins, and
// returns its Loopfile.
func everyBuiltin(t *testing.T) string {
	t.Helper()
	files := map[string]string{
		"Loopfile": `
load("lib.star", "PORT")
v = read_file("VERSION").strip()
image("app", context = ".", build_args = {"V": v})
container(
    "web", "app",
    env = {"PW": secret("pw", from_env = "PW"), "V": v},
    ports = ["8081:80"],
    sync = [sync("src", "/app/src")],
    on_change = [run("make", trigger = ["src"]), restart()],
)
service(
    "api", "go run .",
    env = {"A": secret("api-token", from_env = "API_TOKEN"), "B": secret("cert", from_file = "certs/key.pem"), "RAW": read_file("raw.bin")},
    readiness = http_probe("http://127.0.0.1:%d/" % PORT),
    ports = [PORT],
    links = ["http://127.0.0.1:%d/" % PORT],
    stop_timeout = "3s",
)
task("gen", "true", deps = ["src"], resource_deps = ["api"], labels = ["codegen"])
database("cache", engine = "redis", runtime = "container", port = 6390)
route("web", "api:%d" % PORT)
catalog(owner = "a@example.com", tags = [])
ship("api", "registry.example.com/team/api", deploy_api = deploy_api("https://d.example.com/v1", token = env("T")))
watch_settings(ignore = ["*.tmp"], debounce = "20ms")
compose("compose.yml")
devcontainer("dev")
print("branch", local("echo main").strip())
`,
		"lib.star":                       "PORT = 8080\n",
		"VERSION":                        "1.2.3\n",
		"raw.bin":                        "\xff\xfe not UTF-8", // no NUL: env values cannot hold one
		"Dockerfile":                     "FROM scratch\n",
		"src/main.go":                    "package main\n",
		"compose.yml":                    "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: app\n",
		".devcontainer.json":             `{"image": "golang:1.26", "forwardPorts": [9000], "containerEnv": {"X": "1"}, "features": {"./feat": {"v": "2"}}}`,
		"feat/devcontainer-feature.json": `{"id": "feat", "options": {"v": {"type": "string", "default": "1"}}}`,
		"feat/install.sh":                "#!/bin/sh\n",
	}
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Evaluate it in process first, so a typo here fails here.
	p, err := loopfile.Load(context.Background(), filepath.Join(dir, "Loopfile"), loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatalf("the every-builtin fixture does not evaluate: %v", err)
	}
	if len(p.Images) == 0 || len(p.Databases) == 0 || len(p.Routes) == 0 || len(p.Ships) == 0 {
		t.Fatalf("the fixture misses a group: images %d databases %d routes %d ships %d", len(p.Images), len(p.Databases), len(p.Routes), len(p.Ships))
	}
	if !slices.ContainsFunc(p.Images, func(img *model.Image) bool { return img.Generated != nil }) {
		t.Fatal("the fixture has no generated build context (a devcontainer's Features)")
	}
	return filepath.Join(dir, "Loopfile")
}
