package ship

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// source is the git state a ship is built from: its provenance.
type source struct {
	Commit      string // full SHA of HEAD
	Short       string // first 7 characters
	Time        time.Time
	Branch      string // "" on a detached HEAD
	Remote      string // URL of origin (else the first remote), "" without one
	Author      string // "Name <email>": the commit's author (docs/deploy-api.md)
	AuthorName  string // for commits loop makes: git config user.name, else "loop"
	AuthorEmail string
	Dirty       []string // changed and untracked files, sorted
}

// readSource opens the git repository holding dir (searching upward) and
// reads HEAD, the branch, the remote, the user and the dirty files.
func readSource(dir string) (*source, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s is not in a git repository: loop ship records the commit it ships; run `git init` and commit first", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open the git repository of %s: %w", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("read HEAD of the git repository of %s (no commit yet? commit first): %w", dir, err)
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", head.Hash(), err)
	}
	s := &source{Commit: head.Hash().String(), Time: c.Committer.When}
	s.Short = s.Commit[:7]
	if head.Name().IsBranch() {
		s.Branch = head.Name().Short()
	}
	if remotes, err := repo.Remotes(); err == nil && len(remotes) > 0 {
		r := remotes[0]
		for _, x := range remotes {
			if x.Config().Name == "origin" {
				r = x
			}
		}
		if urls := r.Config().URLs; len(urls) > 0 {
			s.Remote = urls[0]
		}
	}
	s.AuthorName, s.AuthorEmail = "loop", "loop@localhost"
	s.Author = fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email)
	if cfg, err := repo.ConfigScoped(config.GlobalScope); err == nil && cfg.User.Name != "" {
		s.AuthorName = cfg.User.Name
		if cfg.User.Email != "" {
			s.AuthorEmail = cfg.User.Email
		}
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("open the worktree of %s: %w", dir, err)
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("git status of %s: %w", dir, err)
	}
	for name, fs := range st {
		if fs.Worktree != git.Unmodified || fs.Staging != git.Unmodified {
			s.Dirty = append(s.Dirty, name)
		}
	}
	sort.Strings(s.Dirty)
	return s, nil
}

// dirtyError lists what keeps the tree from being clean.
func dirtyError(files []string) error {
	const show = 10
	list := files
	more := ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf("\n  ... and %d more", len(files)-show)
	}
	return fmt.Errorf("the working tree has uncommitted changes, so the image would not match any commit:\n  %s%s\ncommit them (or pass --allow-dirty to ship a -dirty tag)",
		strings.Join(list, "\n  "), more)
}
