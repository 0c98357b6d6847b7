// Package gitops hands a shipped image to a GitOps config repository: it
// points one image reference in one YAML file at the pushed digest,
// commits and pushes, and Argo CD or Flux reconcile the cluster from there.
//
// Apply keeps a clone per repository and branch under Options.CacheDir,
// fetches and hard-resets it to the remote branch, edits the file, commits
// with trailers that tie the commit to the source commit and the digest,
// and pushes. If someone else pushed in the meantime, it fetches, re-applies
// the edit on the new head and pushes again (up to three times).
//
// The edit is textual (yamltree.go): only the changed values and lines
// differ, comments and layout stay. Two kinds of edit:
//   - Change.Image: a kustomization's images[] entry of that name gets
//     newName = repository and digest = sha256:..., and loses newTag.
//   - Change.Field: a dotted path ("image.repository",
//     "spec.template.spec.containers[0].image") is set to the full
//     reference repo@sha256:..., except a field named "digest" or "tag",
//     which gets the bare sha256:... digest.
package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Change is one image bump in a config repository.
type Change struct {
	Repo, Branch, Path      string            // as model.GitOps (Repo: URL or absolute local path; Branch "" = main)
	Image, Field            string            // kustomize images[].name to update, or a dotted YAML field path; exactly one set
	NewImage                string            // "repo@sha256:..."
	Message                 string            // commit message (already expanded)
	Trailers                map[string]string // appended as git trailers, e.g. "Loop-Source-Commit", "Loop-Image-Digest"
	AuthorName, AuthorEmail string
}

// Options tune Apply.
type Options struct {
	CacheDir string    // where clones live (under LOOP_HOME); "" = a temporary clone
	DryRun   bool      // compute the diff; no commit, no push
	Progress io.Writer // human progress lines (nil = discard)
}

// Result is what Apply did.
type Result struct {
	Commit    string // the pushed commit ("" for a dry run or when unchanged)
	Diff      string // unified diff of the file
	Pushed    bool
	Retries   int  // pushes repeated because the remote branch moved
	Unchanged bool // the file already pointed at the image: nothing committed
}

// ErrPushRejected is returned when the remote refuses the push for a reason
// other than a concurrent update that three retries could not overcome.
var ErrPushRejected = errors.New("push rejected")

const maxRetries = 3

// beforePush, when set by tests, runs after the commit and before each push.
var beforePush func(dir string)

// Apply points the image in ch.Path of ch.Repo at ch.NewImage, commits and
// pushes (see the package comment).
func Apply(ctx context.Context, ch Change, opts Options) (Result, error) {
	if ch.Branch == "" {
		ch.Branch = "main"
	}
	repoName, digest, err := splitImage(ch.NewImage)
	if err != nil {
		return Result{}, err
	}
	if (ch.Image == "") == (ch.Field == "") {
		return Result{}, fmt.Errorf("gitops %s: set exactly one of image (a kustomize images[] name) and field (a YAML path)", ch.Path)
	}
	if ch.Repo == "" || ch.Path == "" {
		return Result{}, errors.New("gitops: the change needs a repo and a path")
	}
	clean := path.Clean(filepath.ToSlash(ch.Path))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return Result{}, fmt.Errorf("gitops: path %q must be relative to the repository root", ch.Path)
	}
	ch.Path = clean
	var segs []segment
	if ch.Field != "" {
		if segs, err = parseField(ch.Field); err != nil {
			return Result{}, fmt.Errorf("gitops %s: %w", ch.Path, err)
		}
	}
	a := &applier{ch: ch, opts: opts, repoName: repoName, digest: digest, segs: segs}
	if a.auth, err = authFor(ch.Repo); err != nil {
		return Result{}, err
	}
	dir, cleanup, err := a.cloneDir()
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	return a.run(ctx, dir)
}

type applier struct {
	ch       Change
	opts     Options
	repoName string
	digest   string
	segs     []segment
	auth     transport.AuthMethod
}

func (a *applier) progressf(format string, args ...any) {
	if a.opts.Progress != nil {
		fmt.Fprintf(a.opts.Progress, "gitops: "+format+"\n", args...)
	}
}

func (a *applier) run(ctx context.Context, dir string) (Result, error) {
	var res Result
	for {
		repo, err := a.sync(ctx, dir)
		if err != nil {
			return res, err
		}
		wt, err := repo.Worktree()
		if err != nil {
			return res, fmt.Errorf("gitops %s: %w", a.ch.Repo, err)
		}
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a.ch.Path)))
		if errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("gitops: %s does not exist in %s on branch %s: check the path in the Loopfile's gitops()", a.ch.Path, a.ch.Repo, a.ch.Branch)
		}
		if err != nil {
			return res, fmt.Errorf("gitops: read %s: %w", a.ch.Path, err)
		}
		edited, unchanged, err := a.edit(string(old))
		if err != nil {
			return res, err
		}
		if unchanged {
			a.progressf("%s already points at %s: nothing to commit", a.ch.Path, a.ch.NewImage)
			res.Unchanged, res.Diff = true, ""
			return res, nil
		}
		res.Diff = unifiedDiff(a.ch.Path, string(old), edited)
		if a.opts.DryRun {
			return res, nil
		}
		commit, err := a.commit(wt, edited)
		if err != nil {
			return res, err
		}
		res.Commit = commit.String()
		a.progressf("committed %s on %s", commit.String()[:7], a.ch.Branch)
		if beforePush != nil {
			beforePush(dir)
		}
		err = repo.PushContext(ctx, &git.PushOptions{
			RemoteName: "origin",
			RefSpecs:   []config.RefSpec{config.RefSpec(a.branchRef() + ":" + a.branchRef())},
			Auth:       a.auth,
		})
		switch {
		case err == nil:
			res.Pushed = true
			a.progressf("pushed %s to %s", a.ch.Branch, a.ch.Repo)
			return res, nil
		case isNonFastForward(err) && res.Retries < maxRetries:
			res.Retries++
			a.progressf("%s moved on while pushing: fetching and re-applying (retry %d/%d)", a.ch.Branch, res.Retries, maxRetries)
			continue
		case isNonFastForward(err):
			return res, fmt.Errorf("gitops: push to %s %s: %w: the branch kept moving (%d retries): %v", a.ch.Repo, a.ch.Branch, ErrPushRejected, maxRetries, err)
		default:
			return res, fmt.Errorf("gitops: push to %s %s: %w: %v (check write access: LOOP_GITOPS_TOKEN for https, your ssh agent for ssh, and branch protection)", a.ch.Repo, a.ch.Branch, ErrPushRejected, err)
		}
	}
}

func isNonFastForward(err error) bool {
	s := err.Error()
	return strings.Contains(s, "non-fast-forward") || strings.Contains(s, "fetch first") || errors.Is(err, git.ErrForceNeeded)
}

func (a *applier) branchRef() string { return "refs/heads/" + a.ch.Branch }

// edit applies the change to a file's text.
func (a *applier) edit(src string) (string, bool, error) {
	d := newDocument(src)
	var unchanged bool
	var err error
	if a.ch.Image != "" {
		unchanged, err = d.setKustomizeImage(a.ch.Path, a.ch.Image, a.repoName, a.digest)
	} else {
		unchanged, err = d.setField(a.segs, a.fieldValue())
		if errors.Is(err, errFieldMissing) {
			err = fmt.Errorf("%w in %s: check the field path %q in the Loopfile's gitops()", err, a.ch.Path, a.ch.Field)
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("gitops: %w", err)
	}
	if unchanged {
		return src, true, nil
	}
	out := d.String()
	if a.ch.Image != "" {
		err = verifyKustomize(out, a.ch.Image, a.repoName, a.digest)
	} else {
		err = verifyField(out, a.segs, a.fieldValue())
	}
	if err != nil {
		return "", false, fmt.Errorf("gitops: editing %s went wrong (%v): the file's layout is beyond loop's YAML editor; set the image by hand once in a plain block style", a.ch.Path, err)
	}
	return out, false, nil
}

// fieldValue is what a Field gets: the bare digest for a field named
// digest or tag, else the full reference.
func (a *applier) fieldValue() string {
	last := a.segs[len(a.segs)-1]
	if last.key == "digest" || last.key == "tag" {
		return a.digest
	}
	return a.ch.NewImage
}

func (a *applier) commit(wt *git.Worktree, content string) (plumbing.Hash, error) {
	file := filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(a.ch.Path))
	info, err := os.Stat(file)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitops: %w", err)
	}
	if err := os.WriteFile(file, []byte(content), info.Mode().Perm()); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitops: write %s: %w", a.ch.Path, err)
	}
	if _, err := wt.Add(a.ch.Path); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitops: git add %s: %w", a.ch.Path, err)
	}
	sig := &object.Signature{Name: a.ch.AuthorName, Email: a.ch.AuthorEmail, When: time.Now()}
	if sig.Name == "" {
		sig.Name = "loop"
	}
	if sig.Email == "" {
		sig.Email = "loop@localhost"
	}
	h, err := wt.Commit(commitMessage(a.ch.Message, a.ch.Trailers), &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitops: commit: %w", err)
	}
	return h, nil
}

// commitMessage appends the trailers, sorted, as the message's last
// paragraph.
func commitMessage(msg string, trailers map[string]string) string {
	msg = strings.TrimRight(msg, "\n")
	if msg == "" {
		msg = "Update image"
	}
	keys := make([]string, 0, len(trailers))
	for k := range trailers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 0 {
		msg += "\n"
		for _, k := range keys {
			msg += "\n" + k + ": " + trailers[k]
		}
	}
	return msg + "\n"
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func splitImage(ref string) (repo, digest string, err error) {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok || repo == "" || !digestRE.MatchString(digest) {
		return "", "", fmt.Errorf("gitops: image %q is not repo@sha256:<64 hex>: loop only commits digest-pinned images", ref)
	}
	return repo, digest, nil
}

// cloneDir is the cached clone's directory for the repo and branch.
func (a *applier) cloneDir() (string, func(), error) {
	if a.opts.CacheDir == "" {
		dir, err := os.MkdirTemp("", "loop-gitops-")
		if err != nil {
			return "", nil, fmt.Errorf("gitops: %w", err)
		}
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	sum := sha256.Sum256([]byte(a.ch.Repo + "\x00" + a.ch.Branch))
	base := strings.TrimSuffix(path.Base(filepath.ToSlash(a.ch.Repo)), ".git")
	base = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(base, "_")
	dir := filepath.Join(a.opts.CacheDir, base+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(a.opts.CacheDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("gitops: cache: %w", err)
	}
	return dir, func() {}, nil
}

// sync makes dir a clone of the repo whose branch and worktree are exactly
// the remote branch's head.
func (a *applier) sync(ctx context.Context, dir string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if err == nil {
		if rem, rerr := repo.Remote("origin"); rerr != nil || len(rem.Config().URLs) == 0 || rem.Config().URLs[0] != a.ch.Repo {
			err = errors.New("cached clone of another repository")
		}
	}
	if err != nil {
		// No usable clone: start over.
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("gitops: clear cache %s: %w", dir, err)
		}
		a.progressf("cloning %s (%s)", a.ch.Repo, a.ch.Branch)
		repo, err = git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{
			URL:           a.ch.Repo,
			Auth:          a.auth,
			ReferenceName: plumbing.ReferenceName(a.branchRef()),
			SingleBranch:  true,
		})
		if err != nil {
			os.RemoveAll(dir)
			return nil, a.remoteError("clone", err)
		}
	} else {
		a.progressf("fetching %s (%s)", a.ch.Repo, a.ch.Branch)
		err = repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin",
			RefSpecs:   []config.RefSpec{config.RefSpec("+" + a.branchRef() + ":refs/remotes/origin/" + a.ch.Branch)},
			Auth:       a.auth,
			Force:      true,
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, a.remoteError("fetch", err)
		}
	}
	remote, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", a.ch.Branch), true)
	if err != nil {
		return nil, fmt.Errorf("gitops: %s has no branch %s: create it or set branch in the Loopfile's gitops()", a.ch.Repo, a.ch.Branch)
	}
	local := plumbing.NewHashReference(plumbing.ReferenceName(a.branchRef()), remote.Hash())
	if err := repo.Storer.SetReference(local); err != nil {
		return nil, fmt.Errorf("gitops: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("gitops: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: local.Name(), Force: true}); err != nil {
		return nil, fmt.Errorf("gitops: checkout %s: %w", a.ch.Branch, err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: remote.Hash(), Mode: git.HardReset}); err != nil {
		return nil, fmt.Errorf("gitops: reset to origin/%s: %w", a.ch.Branch, err)
	}
	return repo, nil
}

func (a *applier) remoteError(op string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		hint = ": set LOOP_GITOPS_TOKEN (and LOOP_GITOPS_USER if not a GitHub token) for https, or use an ssh URL with your ssh agent"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		hint = ": check the repo in the Loopfile's gitops() and your access to it"
	case errors.Is(err, plumbing.ErrReferenceNotFound), strings.Contains(err.Error(), "couldn't find remote ref"):
		hint = fmt.Sprintf(": the branch %s does not exist: create it or set branch in gitops()", a.ch.Branch)
	}
	return fmt.Errorf("gitops: %s %s: %w%s", op, a.ch.Repo, err, hint)
}

// authFor picks credentials for a repo URL from the environment: a token
// for https, the ssh agent (and known_hosts) for ssh, none for local paths.
func authFor(repo string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(repo)
	if err != nil {
		return nil, fmt.Errorf("gitops: repo %q: %w", repo, err)
	}
	switch ep.Protocol {
	case "http", "https":
		token := os.Getenv("LOOP_GITOPS_TOKEN")
		if token == "" {
			return nil, nil
		}
		user := os.Getenv("LOOP_GITOPS_USER")
		if user == "" {
			user = "x-access-token"
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		auth, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("gitops: ssh agent for %s: %w: start ssh-agent and ssh-add your key, or use an https URL with LOOP_GITOPS_TOKEN", repo, err)
		}
		return auth, nil
	}
	return nil, nil
}
