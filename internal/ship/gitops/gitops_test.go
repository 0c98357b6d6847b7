package gitops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const seedKustomization = `# Production overlay for the api service.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - ../../base  # shared manifests

images:
  # the api, bumped by loop ship
  - name: registry.example.com/team/api
    newTag: v1.2.3
  - name: redis
    newTag: "7.2"
`

const seedValues = `# Helm values for api.
replicaCount: 2
image:
  repository: registry.example.com/team/api  # no tag here
  tag: "v1.2.3"
  pullPolicy: IfNotPresent
`

var who = &object.Signature{Name: "Someone Else", Email: "else@example.com"}

// newRemote creates a bare repository with main holding the seed files.
func newRemote(t *testing.T) string {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "config.git")
	r, err := git.PlainInitWithOptions(bare, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	_ = r
	work := t.TempDir()
	wr, err := git.PlainInitWithOptions(work, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wr.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	writeCommit(t, wr, map[string]string{
		"overlays/prod/kustomization.yaml": seedKustomization,
		"charts/api/values.yaml":           seedValues,
	}, "seed")
	if err := wr.Push(&git.PushOptions{RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}
	return bare
}

func writeCommit(t *testing.T, r *git.Repository, files map[string]string, msg string) plumbing.Hash {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(wt.Filesystem.Root(), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	sig := *who
	sig.When = time.Now()
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &sig})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// pushOther commits files to the remote's main from a separate clone, as
// a teammate would.
func pushOther(t *testing.T, remote string, files map[string]string) plumbing.Hash {
	t.Helper()
	r, err := git.PlainClone(t.TempDir(), false, &git.CloneOptions{URL: remote, ReferenceName: "refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	h := writeCommit(t, r, files, "teammate change")
	if err := r.Push(&git.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	return h
}

// remoteHead returns main's head commit in the bare remote.
func remoteHead(t *testing.T, remote string) *object.Commit {
	t.Helper()
	r, err := git.PlainOpen(remote)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := r.Reference("refs/heads/main", true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileAt(t *testing.T, c *object.Commit, name string) string {
	t.Helper()
	f, err := c.File(name)
	if err != nil {
		t.Fatalf("%s at %s: %v", name, c.Hash, err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kustomizeChange(remote string) Change {
	return Change{
		Repo:     remote,
		Path:     "overlays/prod/kustomization.yaml",
		Image:    "registry.example.com/team/api",
		NewImage: testRepo + "@" + testDigest,
		Message:  "api: deploy " + testDigest[:19],
		Trailers: map[string]string{
			"Loop-Source-Commit": "0123456789abcdef0123456789abcdef01234567",
			"Loop-Image-Digest":  testDigest,
		},
		AuthorName:  "Ada",
		AuthorEmail: "ada@example.com",
	}
}

func TestApply_kustomize(t *testing.T) {
	remote := newRemote(t)
	before := remoteHead(t, remote)
	cache := t.TempDir()
	var progress bytes.Buffer
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: cache, Progress: &progress})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !res.Pushed || res.Unchanged || res.Retries != 0 {
		t.Errorf("Result = %+v, want pushed without retries", res)
	}
	head := remoteHead(t, remote)
	if head.Hash.String() != res.Commit {
		t.Errorf("remote main = %s, want the commit %s", head.Hash, res.Commit)
	}
	if len(head.ParentHashes) != 1 || head.ParentHashes[0] != before.Hash {
		t.Errorf("parents = %v, want [%s]", head.ParentHashes, before.Hash)
	}
	wantMsg := "api: deploy " + testDigest[:19] + "\n\nLoop-Image-Digest: " + testDigest + "\nLoop-Source-Commit: 0123456789abcdef0123456789abcdef01234567\n"
	if head.Message != wantMsg {
		t.Errorf("message = %q, want %q", head.Message, wantMsg)
	}
	if head.Author.Name != "Ada" || head.Author.Email != "ada@example.com" {
		t.Errorf("author = %s <%s>, want Ada <ada@example.com>", head.Author.Name, head.Author.Email)
	}
	want := strings.Replace(seedKustomization, "    newTag: v1.2.3\n", "    newName: "+testRepo+"\n    digest: "+testDigest+"\n", 1)
	if got := fileAt(t, head, "overlays/prod/kustomization.yaml"); got != want {
		t.Errorf("pushed file:\n%s\nwant:\n%s", got, want)
	}
	for _, w := range []string{"-    newTag: v1.2.3\n", "+    newName: " + testRepo + "\n", "+    digest: " + testDigest + "\n", "   # the api, bumped by loop ship\n"} {
		if !strings.Contains(res.Diff, w) {
			t.Errorf("Diff missing %q:\n%s", w, res.Diff)
		}
	}
	if !strings.Contains(progress.String(), "pushed main") {
		t.Errorf("progress = %q, want a pushed line", progress.String())
	}

	// The same image again: nothing to do, from the cached clone.
	res, err = Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: cache})
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if !res.Unchanged || res.Pushed || res.Commit != "" {
		t.Errorf("second Result = %+v, want unchanged", res)
	}
	if got := remoteHead(t, remote).Hash; got != head.Hash {
		t.Errorf("remote moved to %s on an unchanged apply", got)
	}
}

func TestApply_field(t *testing.T) {
	remote := newRemote(t)
	ch := kustomizeChange(remote)
	ch.Image, ch.Field, ch.Path = "", "image.tag", "charts/api/values.yaml"
	res, err := Apply(context.Background(), ch, Options{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := strings.Replace(seedValues, `"v1.2.3"`, `"`+testDigest+`"`, 1)
	if got := fileAt(t, remoteHead(t, remote), "charts/api/values.yaml"); got != want || !res.Pushed {
		t.Errorf("pushed=%v file:\n%s\nwant:\n%s", res.Pushed, got, want)
	}
}

func TestApply_cachedCloneFollowsRemote(t *testing.T) {
	remote := newRemote(t)
	cache := t.TempDir()
	ch := kustomizeChange(remote)
	ch.NewImage = testRepo + "@" + oldDigest
	if _, err := Apply(context.Background(), ch, Options{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	// The remote moves on while the cache holds the older state.
	other := pushOther(t, remote, map[string]string{"README.md": "config\n"})
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: cache})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	head := remoteHead(t, remote)
	if res.Retries != 0 || head.ParentHashes[0] != other {
		t.Errorf("Retries = %d, parent = %v; want 0 and the teammate's commit %s", res.Retries, head.ParentHashes, other)
	}
	if !strings.Contains(res.Diff, "-    digest: "+oldDigest) {
		t.Errorf("Diff:\n%s\nwant the old digest replaced", res.Diff)
	}
}

func TestApply_concurrentPushIsRetried(t *testing.T) {
	remote := newRemote(t)
	var other plumbing.Hash
	calls := 0
	beforePush = func(string) {
		calls++
		if calls == 1 { // a teammate pushes between our fetch and our push
			other = pushOther(t, remote, map[string]string{"charts/api/values.yaml": strings.Replace(seedValues, "replicaCount: 2", "replicaCount: 3", 1)})
		}
	}
	t.Cleanup(func() { beforePush = nil })
	var progress bytes.Buffer
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Retries != 1 || !res.Pushed || calls != 2 {
		t.Errorf("Result = %+v after %d pushes, want pushed after 1 retry", res, calls)
	}
	head := remoteHead(t, remote)
	if head.Hash.String() != res.Commit || len(head.ParentHashes) != 1 || head.ParentHashes[0] != other {
		t.Errorf("head %s parents %v, want our commit %s on top of the teammate's %s", head.Hash, head.ParentHashes, res.Commit, other)
	}
	if got := fileAt(t, head, "charts/api/values.yaml"); !strings.Contains(got, "replicaCount: 3") {
		t.Errorf("the teammate's change was lost:\n%s", got)
	}
	if got := fileAt(t, head, "overlays/prod/kustomization.yaml"); !strings.Contains(got, "digest: "+testDigest) {
		t.Errorf("our change is missing:\n%s", got)
	}
	if !strings.Contains(progress.String(), "retry 1/3") {
		t.Errorf("progress = %q, want the retry", progress.String())
	}
}

func TestApply_concurrentPushOfSameFile(t *testing.T) {
	remote := newRemote(t)
	calls := 0
	beforePush = func(string) {
		calls++
		if calls == 1 { // someone bumps the same image meanwhile
			pushOther(t, remote, map[string]string{"overlays/prod/kustomization.yaml": strings.Replace(seedKustomization, "newTag: v1.2.3", "newTag: v9", 1)})
		}
	}
	t.Cleanup(func() { beforePush = nil })
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Retries != 1 || !strings.Contains(res.Diff, "-    newTag: v9") {
		t.Errorf("Retries = %d, Diff:\n%s\nwant one retry re-applied over v9", res.Retries, res.Diff)
	}
}

func TestApply_givesUpWhenTheBranchKeepsMoving(t *testing.T) {
	remote := newRemote(t)
	n := 0
	beforePush = func(string) {
		n++
		pushOther(t, remote, map[string]string{"README.md": strings.Repeat("x", n)})
	}
	t.Cleanup(func() { beforePush = nil })
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: t.TempDir()})
	if !errors.Is(err, ErrPushRejected) || res.Retries != maxRetries || res.Pushed {
		t.Fatalf("Result = %+v, err = %v; want ErrPushRejected after %d retries", res, err, maxRetries)
	}
}

func TestApply_dryRun(t *testing.T) {
	remote := newRemote(t)
	before := remoteHead(t, remote).Hash
	res, err := Apply(context.Background(), kustomizeChange(remote), Options{CacheDir: t.TempDir(), DryRun: true})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Pushed || res.Commit != "" || !strings.Contains(res.Diff, "+    digest: "+testDigest) {
		t.Errorf("Result = %+v, want a diff and no commit", res)
	}
	if !strings.HasPrefix(res.Diff, "--- a/overlays/prod/kustomization.yaml\n+++ b/overlays/prod/kustomization.yaml\n@@ ") {
		t.Errorf("Diff header:\n%s", res.Diff)
	}
	if got := remoteHead(t, remote).Hash; got != before {
		t.Errorf("dry run moved the remote to %s", got)
	}
}

func TestApply_errors(t *testing.T) {
	remote := newRemote(t)
	tests := []struct {
		name   string
		change func(*Change)
		want   string
	}{
		{"no images entry", func(c *Change) { c.Image = "registry.example.com/team/web" },
			"no images entry named registry.example.com/team/web in overlays/prod/kustomization.yaml (its images are named registry.example.com/team/api, redis): add `- name: registry.example.com/team/web` under images in overlays/prod/kustomization.yaml, or set image= in the Loopfile's gitops() to the name the kustomization uses"},
		{"missing file", func(c *Change) { c.Path = "overlays/staging/kustomization.yaml" },
			"overlays/staging/kustomization.yaml does not exist in"},
		{"missing field", func(c *Change) { c.Image, c.Field, c.Path = "", "image.digest", "charts/api/values.yaml" },
			"field not found: image.digest (image has keys repository, tag, pullPolicy) in charts/api/values.yaml: check the field path"},
		{"missing branch", func(c *Change) { c.Branch = "prod" },
			"prod"},
		{"tag, not digest", func(c *Change) { c.NewImage = testRepo + ":latest" },
			"not repo@sha256"},
		{"both image and field", func(c *Change) { c.Field = "image.tag" },
			"exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := kustomizeChange(remote)
			tt.change(&ch)
			_, err := Apply(context.Background(), ch, Options{CacheDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
