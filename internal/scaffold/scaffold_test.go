package scaffold

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeTemplate writes files (name -> content) under dir.
func writeTemplate(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuiltin(t *testing.T) {
	ts, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tmpl := range ts {
		got = append(got, tmpl.Name)
		vals, err := tmpl.Resolve(map[string]string{"Name": "demo"}, nil)
		if err != nil {
			t.Errorf("%s: Resolve: %v", tmpl.Name, err)
			continue
		}
		files, err := tmpl.Render(t.TempDir(), vals, false)
		if err != nil {
			t.Errorf("%s: Render: %v", tmpl.Name, err)
		}
		for _, want := range []string{"Loopfile", "Dockerfile", "README.md", ".devcontainer/devcontainer.json",
			".github/workflows/ci.yml", ".gitlab-ci.yml"} {
			if !strings.Contains(strings.Join(files, "\n"), want) {
				t.Errorf("%s: no %s among %v", tmpl.Name, want, files)
			}
		}
	}
	if want := "go-http node-ts python static-site"; strings.Join(got, " ") != want {
		t.Errorf("Builtin: got %v, want %s", got, want)
	}
}

func TestTemplate_Resolve(t *testing.T) {
	tmpl := &Template{Name: "t", Params: []Param{
		{Name: "Name", Required: true, Pattern: "^[a-z]+$"},
		{Name: "Port", Default: "8080"},
	}}
	var missing *MissingError
	if _, err := tmpl.Resolve(map[string]string{}, nil); !errors.As(err, &missing) || !strings.Contains(err.Error(), "--set Name=VALUE") {
		t.Errorf("missing Name: got %v, want a MissingError naming --set Name=VALUE", err)
	}
	if _, err := tmpl.Resolve(map[string]string{"Name": "Bad"}, nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Name=Bad: got %v, want a pattern error", err)
	}
	if _, err := tmpl.Resolve(map[string]string{"Name": "a", "Nope": "x"}, nil); err == nil || !strings.Contains(err.Error(), "unknown parameter") {
		t.Errorf("Nope=x: got %v, want unknown parameter", err)
	}
	ask := func(p Param, _ string) (string, error) { return map[string]string{"Name": "asked"}[p.Name], nil }
	got, err := tmpl.Resolve(nil, ask)
	if err != nil || got["Name"] != "asked" || got["Port"] != "8080" {
		t.Errorf("Resolve with prompts: got %v, %v; want Name=asked Port=8080", got, err)
	}

	// An invalid answer is asked for again, saying why; a run of invalid
	// answers gives up after MaxAsks.
	answers := []string{"Bad Name", "", "fixed"}
	var problems []string
	ask = func(p Param, problem string) (string, error) {
		if p.Name != "Name" {
			return "", nil
		}
		problems = append(problems, problem)
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	got, err = tmpl.Resolve(nil, ask)
	if err != nil || got["Name"] != "fixed" {
		t.Fatalf("Resolve with bad answers first: got %v, %v; want Name=fixed", got, err)
	}
	if len(problems) != 3 || problems[0] != "" || !strings.Contains(problems[1], "does not match") || !strings.Contains(problems[2], "--set Name=VALUE") {
		t.Errorf("problems shown with the prompts: %q", problems)
	}
	asks := 0
	_, err = tmpl.Resolve(nil, func(p Param, _ string) (string, error) { asks++; return "Bad Name", nil })
	if err == nil || asks != MaxAsks {
		t.Errorf("always invalid: %d asks, %v; want %d asks and an error", asks, err, MaxAsks)
	}
}

func TestTemplate_Render_escape(t *testing.T) {
	dir := t.TempDir()
	writeTemplate(t, dir, map[string]string{
		"template.yaml": "name: bad\nparameters:\n  - name: Name\n",
		"x/{{.Name}}":   "boom",
	})
	ts, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	_, err = ts[0].Render(dst, map[string]string{"Name": "../../escaped"}, false)
	if err == nil || !strings.Contains(err.Error(), "leaves the target directory") {
		t.Fatalf("Render with an escaping path: got %v", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a failed Render wrote %s", dst)
	}
}

func TestTemplate_Render_nonEmpty(t *testing.T) {
	ts, _ := Builtin()
	dst := t.TempDir()
	writeTemplate(t, dst, map[string]string{"keep.txt": "mine"})
	vals, _ := ts[0].Resolve(map[string]string{"Name": "demo"}, nil)
	if _, err := ts[0].Render(dst, vals, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Render into a non-empty dir: got %v, want an error naming --force", err)
	}
	if _, err := ts[0].Render(dst, vals, true); err != nil {
		t.Errorf("Render with force: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "keep.txt")); string(b) != "mine" {
		t.Errorf("keep.txt: got %q, want it untouched", b)
	}
}

// TestSources_git clones a real (local) git repository of templates.
func TestSources_git(t *testing.T) {
	repoDir := t.TempDir()
	writeTemplate(t, repoDir, map[string]string{
		"job/template.yaml": "name: job\ndescription: from git\nparameters:\n  - name: Name\n    required: true\n",
		"job/README.md":     "# {{.Name}}\n",
	})
	repo, err := git.PlainInit(repoDir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if _, err := wt.Add("."); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}
	if _, err := wt.Commit("templates", &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	url := "file://" + repoDir
	all, cleanup, err := Sources(context.Background(), []string{url})
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Find(all, "job")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Source != url {
		t.Errorf("Source: got %q, want %q", tmpl.Source, url)
	}
	dst := t.TempDir()
	if _, err := tmpl.Render(dst, map[string]string{"Name": "j"}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "README.md")); string(b) != "# j\n" {
		t.Errorf("README.md: got %q", b)
	}
	if _, err := Find(all, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(nope): got %v, want ErrNotFound", err)
	}
}
