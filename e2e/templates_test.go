package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// templateChecks is each embedded template's own test command.
var templateChecks = map[string][][]string{
	"go-http":     {{"go", "vet", "./..."}, {"go", "test", "./..."}},
	"static-site": {{"go", "vet", "./..."}, {"go", "test", "./..."}},
	"python":      {{"python3", "-m", "unittest", "-v"}},
	"node-ts":     {{"npm", "install", "--no-audit", "--no-fund"}, {"npm", "test"}},
}

// TestNew_EmbeddedTemplates generates every embedded template, runs its own
// tests, then `loop ci --junit` on it with the process runtime.
func TestNew_EmbeddedTemplates(t *testing.T) {
	t.Parallel()
	list := newEnv(t, "list").mustLoop("new", "--list")
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(list.stdout), "\n") {
		names = append(names, strings.Fields(line)[0])
	}
	for name := range templateChecks {
		if !strings.Contains(list.stdout, name) {
			t.Errorf("loop new --list: no %s in\n%s", name, list.stdout)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checks, ok := templateChecks[name]
			if !ok {
				t.Fatalf("embedded template %s has no checks in templateChecks: add them", name)
			}
			e := newEnv(t, "gen")
			port := freePort(t)
			e.mustLoop("new", name, "demo", "--dir", ".", "--force", "--set", "Port="+strconv.Itoa(port))
			for _, f := range []string{"Loopfile", "Dockerfile", "README.md", ".devcontainer/devcontainer.json",
				".github/workflows/ci.yml", ".gitlab-ci.yml"} {
				if _, err := os.Stat(filepath.Join(e.dir, f)); err != nil {
					t.Errorf("generated project: %v", err)
				}
			}
			for _, argv := range checks {
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
				cmd.Dir = e.dir
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil && argv[0] == "npm" && argv[1] == "install" {
					t.Skipf("node-ts: npm install failed (offline? the npm registry is needed): %v\n%s", err, out)
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
				}
			}
			r := e.loop("ci", "--junit", "report.xml", "--timeout", "55s")
			if r.code != 0 {
				t.Fatalf("loop ci on the generated %s project: %s", name, r)
			}
			report, err := os.ReadFile(filepath.Join(e.dir, "report.xml"))
			if err != nil || !strings.Contains(string(report), "test") {
				t.Errorf("loop ci --junit: report.xml: %v\n%s", err, report)
			}
		})
	}
}

// TestNew_TeamTemplate renders a team template from a directory, with a
// conditional file left out and then put in.
func TestNew_TeamTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "team")
	tmpl := filepath.Join(t.TempDir(), "templates", "worker")
	for name, content := range map[string]string{
		"template.yaml": `name: worker
description: A team worker
parameters:
  - name: Name
    required: true
  - name: Queue
    prompt: Queue to consume
    required: true
    pattern: '^[a-z]+$'
  - name: Metrics
    default: "no"
files:
  - path: metrics/**
    when: {param: Metrics, equals: "yes"}
`,
		"README.md":          "# {{.Name}} consumes {{.Queue}}\n",
		"metrics/config.txt": "metrics for {{.Name}}\n",
	} {
		p := filepath.Join(tmpl, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	teams := filepath.Dir(tmpl)
	if r := e.mustLoop("new", "--list", "--template-dir", teams); !strings.Contains(r.stdout, "worker") || !strings.Contains(r.stdout, "go-http") {
		t.Errorf("loop new --list --template-dir: want worker and go-http, got %s", r)
	}
	e.mustLoop("new", "worker", "w1", "--template-dir", teams, "--set", "Queue=jobs")
	if b, err := os.ReadFile(filepath.Join(e.dir, "w1", "README.md")); err != nil || string(b) != "# w1 consumes jobs\n" {
		t.Errorf("README.md: got %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "w1", "metrics")); !os.IsNotExist(err) {
		t.Errorf("metrics/ with Metrics=no: want it left out, got %v", err)
	}
	// $LOOP_TEMPLATES works like --template-dir.
	r := e.loopWith([]string{"LOOP_TEMPLATES=" + teams}, "new", "worker", "w2", "--set", "Queue=jobs", "--set", "Metrics=yes")
	if r.code != 0 {
		t.Fatalf("loop new with LOOP_TEMPLATES: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, "w2", "metrics", "config.txt")); err != nil || string(b) != "metrics for w2\n" {
		t.Errorf("metrics/config.txt with Metrics=yes: got %q, %v", b, err)
	}

	// Bad input: a missing required parameter without a TTY, a value
	// against the pattern, a non-empty target.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"new", "worker", "w3", "--template-dir", teams}, "--set Queue=VALUE"},
		{[]string{"new", "worker", "w3", "--template-dir", teams, "--set", "Queue=J0bs"}, "does not match"},
		{[]string{"new", "worker", "w1", "--template-dir", teams, "--set", "Queue=jobs"}, "--force"},
		{[]string{"new", "nosuch", "x"}, "template not found"},
	} {
		r := e.loop(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("loop %s: want a failure mentioning %q, got %s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "w3")); !os.IsNotExist(err) {
		t.Errorf("a failed loop new left %s behind", filepath.Join(e.dir, "w3"))
	}
}
