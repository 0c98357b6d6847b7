package ship

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitRepo makes a real repository in dir with files committed.
func gitRepo(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	h, err := wt.Commit("init", &git.CommitOptions{Author: &object.Signature{Name: "Ada", Email: "ada@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestReadSource(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no global git config: loop commits as "loop"
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	commit := gitRepo(t, dir, map[string]string{"Loopfile": "", "app/main.go": "package main\n"})
	sub := filepath.Join(dir, "app")

	src, err := readSource(sub) // found from a subdirectory
	if err != nil {
		t.Fatal(err)
	}
	if src.Commit != commit || src.Short != commit[:7] || src.Branch != "master" {
		t.Errorf("source = %+v, want commit %s on master", src, commit)
	}
	if src.Author != "Ada <ada@example.com>" || src.AuthorName != "loop" {
		t.Errorf("author = %q, commit author = %q, want Ada and loop", src.Author, src.AuthorName)
	}
	if len(src.Dirty) != 0 {
		t.Errorf("dirty = %v on a fresh commit", src.Dirty)
	}

	writeFile(t, filepath.Join(dir, "app/main.go"), "package main // changed\n")
	writeFile(t, filepath.Join(dir, "new.txt"), "x")
	src, err = readSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(src.Dirty, ","); got != "app/main.go,new.txt" {
		t.Errorf("dirty = %q, want app/main.go,new.txt", got)
	}
	if tag := imageTag(src, true); tag != commit[:7]+"-dirty" {
		t.Errorf("imageTag(dirty, allow) = %q", tag)
	}
	if msg := dirtyError(src.Dirty).Error(); !strings.Contains(msg, "new.txt") || !strings.Contains(msg, "--allow-dirty") {
		t.Errorf("dirtyError = %q: want the files and --allow-dirty", msg)
	}
}

func TestReadSource_NotARepo(t *testing.T) {
	_, err := readSource(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "git init") {
		t.Fatalf("readSource outside git = %v, want a hint to git init", err)
	}
}

type fakeProjects []api.Project

func (f fakeProjects) Projects(context.Context) ([]api.Project, error) { return f, nil }

var _ projects = fakeProjects(nil)

func TestPreconditions(t *testing.T) {
	task := func(name, state string, labels ...string) api.Resource {
		return api.Resource{Name: name, Kind: "task", State: state, Labels: labels}
	}
	web := api.Resource{Name: "web", Kind: "service", State: api.StateReady}
	up := api.Project{Name: "shop", Loopfile: "/p/Loopfile", Resources: []api.Resource{task("unit", api.StateReady, "test"), task("lint", api.StateFailed), web}}
	ctx := context.Background()

	if _, err := findUp(ctx, fakeProjects{}, "/p/Loopfile", "shop"); err == nil || !strings.Contains(err.Error(), "run loop ci or loop up first") {
		t.Errorf("findUp(not up) = %v", err)
	}
	p, err := findUp(ctx, fakeProjects{up}, "/p/Loopfile", "other")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTests(p); err != nil {
		t.Errorf("checkTests (unit ready, unlabelled lint failed) = %v, want nil", err)
	}
	if err := checkReady(p, "web"); err != nil {
		t.Errorf("checkReady(web) = %v", err)
	}
	if err := checkReady(p, "api"); err == nil {
		t.Error("checkReady(absent) = nil")
	}
	if passed, failed, names := testSummary(p); passed != 1 || failed != 0 || len(names) != 1 {
		t.Errorf("testSummary = %d %d %v", passed, failed, names)
	}

	failing := api.Project{Resources: []api.Resource{task("unit", api.StateFailed, "test"), task("e2e", api.StateStarting, "test")}}
	if err := checkTests(&failing); err == nil || !strings.Contains(err.Error(), "unit failed") {
		t.Errorf("checkTests(failed) = %v", err)
	}
	running := api.Project{Resources: []api.Resource{task("e2e", api.StateStarting, "test")}}
	if err := checkTests(&running); err == nil || !strings.Contains(err.Error(), "not finished") {
		t.Errorf("checkTests(running) = %v", err)
	}
	down := api.Project{Name: "shop", Resources: []api.Resource{{Name: "web", State: api.StateCrashed, Reason: "exit 1"}}}
	if err := checkReady(&down, "web"); err == nil || !strings.Contains(err.Error(), "exit 1") {
		t.Errorf("checkReady(crashed) = %v", err)
	}
}

func TestSelectShips(t *testing.T) {
	p := &model.Project{Loopfile: "/p/Loopfile", Ships: []*model.Ship{{Resource: "web"}, {Resource: "api"}}}
	got, err := selectShips(p, []string{"api", "web"})
	if err != nil || names(got) != "web, api" {
		t.Errorf("selectShips = %q, %v; want declaration order", names(got), err)
	}
	if _, err := selectShips(p, []string{"db"}); err == nil || !strings.Contains(err.Error(), "web, api") {
		t.Errorf("selectShips(unknown) = %v", err)
	}
	if _, err := selectShips(&model.Project{Loopfile: "/p/Loopfile"}, nil); err == nil || !strings.Contains(err.Error(), "no ship()") {
		t.Errorf("selectShips(none) = %v", err)
	}
}

func TestExpandMessage(t *testing.T) {
	got := expandMessage("deploy {service} {short} ({digest}, {commit})", "web", "sha256:ab", "0123456789")
	if want := "deploy web 0123456 (sha256:ab, 0123456789)"; got != want {
		t.Errorf("expandMessage = %q, want %q", got, want)
	}
	if got := expandMessage("", "web", "d", "0123456789"); got != "deploy web 0123456" {
		t.Errorf("default message = %q", got)
	}
}
