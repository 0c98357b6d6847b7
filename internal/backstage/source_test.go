package backstage

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestWebURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo"},
		{"https://github.com/org/repo/", "https://github.com/org/repo"},
		{"https://ci:s3cret@gitlab.example.com/grp/sub/repo.git", "https://gitlab.example.com/grp/sub/repo"},
		{"git@github.com:org/repo.git", "https://github.com/org/repo"},
		{"github.com:org/repo", "https://github.com/org/repo"},
		{"ssh://git@git.example.com:2222/org/repo.git", "https://git.example.com/org/repo"},
		{"git://example.com/repo", "https://example.com/repo"},
		{"/srv/git/repo.git", ""},
		{"../repo", ""},
		{"file:///srv/git/repo.git", ""},
		{`C:\repos\x`, ""},
		{"https://github.com/", ""},
	} {
		if got := WebURL(tc.in); got != tc.want {
			t.Errorf("WebURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSource_Location(t *testing.T) {
	gh := Source{InRepo: true, URL: "https://github.com/org/repo", Ref: "main"}
	for _, tc := range []struct {
		name       string
		s          Source
		repository string
		want       string
	}{
		{"root", gh, "", "url:https://github.com/org/repo/tree/main/"},
		{"subdirectory", Source{InRepo: true, URL: gh.URL, Ref: "dev", Path: "svc/shop"}, "", "url:https://github.com/org/repo/tree/dev/svc/shop/"},
		{"detached", Source{InRepo: true, URL: gh.URL}, "", "url:https://github.com/org/repo/tree/HEAD/"},
		{"catalog(repository=) wins", gh, "https://github.com/org/other/", "url:https://github.com/org/other/tree/main/"},
		{"gitlab", Source{InRepo: true, URL: "https://gitlab.com/g/r", Ref: "main", Path: "x"}, "", "url:https://gitlab.com/g/r/-/tree/main/x/"},
		{"bitbucket", Source{InRepo: true, URL: "https://bitbucket.org/t/r", Ref: "main"}, "", "url:https://bitbucket.org/t/r/src/main/"},
		{"repository outside git", Source{}, "https://github.com/org/repo", "url:https://github.com/org/repo"},
		{"no remote", Source{InRepo: true, Ref: "main"}, "", ""},
		{"nothing", Source{}, "", ""},
	} {
		if got := tc.s.Location(tc.repository); got != tc.want {
			t.Errorf("%s: Location(%q) = %q, want %q", tc.name, tc.repository, got, tc.want)
		}
	}
	sub := Source{InRepo: true, URL: gh.URL, Ref: "main", Path: "svc"}
	if got, want := sub.WebPath("", "docs"), "https://github.com/org/repo/tree/main/svc/docs"; got != want {
		t.Errorf("WebPath(docs) = %q, want %q", got, want)
	}
	if got := (Source{}).WebPath("https://github.com/org/repo", "docs"); got != "" {
		t.Errorf("WebPath outside git = %q, want none", got)
	}
}

// TestFindSource reads a real repository: origin wins over other remotes,
// the branch is known before the first commit, the path is the project's
// directory in the repository.
func TestFindSource(t *testing.T) {
	root := t.TempDir()
	repo, err := git.PlainInit(root, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("trunk"))); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{"aaa": "https://example.com/fork/shop.git", "origin": "git@github.com:org/shop.git"} {
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{u}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "services", "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Source{InRepo: true, URL: "https://github.com/org/shop", Ref: "trunk", Path: "services/shop"}
	if got != want {
		t.Errorf("FindSource = %+v, want %+v", got, want)
	}

	outside := t.TempDir()
	if got, err := FindSource(outside); err != nil || got != (Source{}) {
		t.Errorf("FindSource outside a repository = %+v, %v; want the zero Source", got, err)
	}
}

// TestFindSource_worktree: in a linked worktree (git worktree add) the
// remote is the main repository's and the branch the worktree's.
func TestFindSource_worktree(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git binary to make a linked worktree with")
	}
	main, wt := filepath.Join(t.TempDir(), "main"), filepath.Join(t.TempDir(), "wt")
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(main, 0o755); err != nil {
		t.Fatal(err)
	}
	run(main, "init", "-q", "-b", "main")
	run(main, "remote", "add", "origin", "https://github.com/org/shop.git")
	run(main, "commit", "-q", "--allow-empty", "-m", "first")
	run(main, "worktree", "add", "-q", "-b", "feature", wt)
	got, err := FindSource(wt)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Source{InRepo: true, URL: "https://github.com/org/shop", Ref: "feature"}); got != want {
		t.Errorf("FindSource in a worktree = %+v, want %+v", got, want)
	}
}
