package scaffold

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5"
)

// IsGitURL reports whether a template source is a git repository URL
// rather than a directory.
func IsGitURL(s string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://", "git@"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.HasSuffix(s, ".git") && !isDir(s)
}

func isDir(s string) bool {
	info, err := os.Stat(s)
	return err == nil && info.IsDir()
}

// Clone clones a template repository (shallow) into a temporary directory.
// The caller removes the directory with the returned cleanup.
func Clone(ctx context.Context, url string) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", "loop-template-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if _, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: url, Depth: 1}); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("clone templates %s: %w", url, err)
	}
	return dir, cleanup, nil
}

// Sources loads the team templates of each source (a directory or a git
// URL), after the embedded ones; a later template shadows an earlier one of
// the same name. The returned cleanup removes the clones.
func Sources(ctx context.Context, sources []string) ([]*Template, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	all, err := Builtin()
	if err != nil {
		return nil, cleanup, err
	}
	for _, s := range sources {
		dir := s
		if IsGitURL(s) {
			d, c, err := Clone(ctx, s)
			if err != nil {
				return nil, cleanup, err
			}
			cleanups = append(cleanups, c)
			dir = d
		}
		ts, err := LoadDir(dir)
		if err != nil {
			return nil, cleanup, err
		}
		for _, t := range ts {
			if IsGitURL(s) {
				t.Source = s
			}
			all = replace(all, t)
		}
	}
	return all, cleanup, nil
}

func replace(all []*Template, t *Template) []*Template {
	for i, o := range all {
		if o.Name == t.Name {
			all[i] = t
			return all
		}
	}
	return append(all, t)
}

// Find returns the template named name.
func Find(all []*Template, name string) (*Template, error) {
	var names []string
	for _, t := range all {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("%w: %q (templates: %s; see loop new --list)", ErrNotFound, name, strings.Join(names, ", "))
}
