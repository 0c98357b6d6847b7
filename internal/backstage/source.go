package backstage

// Where the code lives, for the backstage.io/source-location annotation:
// the git repository holding the project directory, its remote as a web
// address, the branch and the project's path in it.

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Source is where a project's code lives in version control.
type Source struct {
	InRepo bool   // the project directory is in a git repository
	URL    string // its remote's web address, e.g. https://github.com/org/repo ("" = none, or not on the web)
	Ref    string // the branch checked out ("" = detached: HEAD)
	Path   string // the project directory relative to the repository's root, with "/" ("" = the root)
}

// FindSource reads the git repository holding dir (searching upward): the
// remote called origin, else the first by name, and the branch. Outside a
// repository it returns the zero Source.
func FindSource(dir string) (Source, error) {
	// EnableDotGitCommonDir: a linked worktree (git worktree add) reads
	// its remotes from the main repository's config.
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return Source{}, nil
	}
	if err != nil {
		return Source{}, fmt.Errorf("open the git repository of %s: %w", dir, err)
	}
	s := Source{InRepo: true}
	if wt, err := repo.Worktree(); err == nil {
		if rel, err := relReal(wt.Filesystem.Root(), dir); err == nil && rel != "." {
			s.Path = filepath.ToSlash(rel)
		}
	}
	if head, err := repo.Reference(plumbing.HEAD, false); err == nil && head.Type() == plumbing.SymbolicReference && head.Target().IsBranch() {
		s.Ref = head.Target().Short() // also before the first commit
	}
	remotes, err := repo.Remotes()
	if err != nil {
		return s, fmt.Errorf("read the git remotes of %s: %w", dir, err)
	}
	rank := func(r *git.Remote) string { // origin first, then by name
		if r.Config().Name == "origin" {
			return ""
		}
		return r.Config().Name
	}
	slices.SortFunc(remotes, func(a, b *git.Remote) int { return strings.Compare(rank(a), rank(b)) })
	if len(remotes) > 0 && len(remotes[0].Config().URLs) > 0 {
		s.URL = WebURL(remotes[0].Config().URLs[0])
	}
	return s, nil
}

// relReal is filepath.Rel of both paths with their symlinks resolved.
func relReal(base, target string) (string, error) {
	b, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", err
	}
	t, err := filepath.EvalSymlinks(target)
	if err != nil {
		return "", err
	}
	return filepath.Rel(b, t)
}

// WebURL turns a git remote into the repository's web address:
// "git@github.com:org/repo.git", "ssh://git@host:22/org/repo" and
// "https://user:token@host/org/repo.git" all become "https://HOST/org/repo"
// (credentials are dropped). A local path or file:// remote gives "".
func WebURL(remote string) string {
	remote = strings.TrimSpace(remote)
	var host, path string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		switch u.Scheme {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
			host, path = u.Hostname(), u.Path
		default:
			return ""
		}
	} else if at, rest, ok := strings.Cut(remote, ":"); ok && !strings.Contains(at, "/") && !strings.Contains(remote, "://") && len(at) > 1 {
		// scp-like: [user@]host:path
		host, path = at, rest
		if _, h, ok := strings.Cut(at, "@"); ok {
			host = h
		}
	} else {
		return ""
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if host == "" || path == "" {
		return ""
	}
	return "https://" + host + "/" + path
}

// Location is the value of backstage.io/source-location: "url:" and the
// web address of the project directory (WebPath). Outside a git
// repository, a given repository is used as it is. "" when neither is
// known.
func (s Source) Location(repository string) string {
	if !s.InRepo {
		if repository == "" {
			return ""
		}
		return "url:" + repository
	}
	if u := s.WebPath(repository, ""); u != "" {
		return "url:" + u
	}
	return ""
}

// WebPath is the web address of rel (a path relative to the project
// directory; "" for the directory itself, which ends in "/") at the
// branch checked out, in repository (catalog(repository=), when given)
// or the git remote. The path form is GitLab's (/-/tree/REF/PATH) on
// hosts named gitlab, Bitbucket Cloud's (/src/REF/PATH) on bitbucket.org,
// else GitHub's (/tree/REF/PATH). "" outside a git repository or without
// a web address.
func (s Source) WebPath(repository, rel string) string {
	base := strings.TrimSuffix(repository, "/")
	if base == "" {
		base = s.URL
	}
	if !s.InRepo || base == "" {
		return ""
	}
	ref := s.Ref
	if ref == "" {
		ref = "HEAD"
	}
	tree := "/tree/"
	if u, err := url.Parse(base); err == nil {
		switch host := strings.ToLower(u.Hostname()); {
		case strings.Contains(host, "gitlab"):
			tree = "/-/tree/"
		case host == "bitbucket.org":
			tree = "/src/"
		}
	}
	p := strings.Trim(path.Join(s.Path, rel), "/")
	if p == "." {
		p = ""
	}
	u := base + tree + ref + "/" + p
	if rel == "" && p != "" {
		u += "/"
	}
	return u
}
