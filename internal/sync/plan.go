package sync

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/subpath"
)

// rule is a model.SyncRule with both paths cleaned: local is a clean host
// path, remote a clean absolute container path.
type rule struct {
	local, remote string
}

// compile cleans rules and orders them most specific (longest Local) first.
// A relative Remote is taken from "/" ("app" is "/app"; "../x" is "/x").
func compile(rules []model.SyncRule) []rule {
	rs := make([]rule, 0, len(rules))
	for _, r := range rules {
		if r.Local == "" {
			continue
		}
		rs = append(rs, rule{local: filepath.Clean(r.Local), remote: path.Clean("/" + r.Remote)})
	}
	slices.SortStableFunc(rs, func(a, b rule) int { return len(b.local) - len(a.local) })
	return rs
}

// match returns the most specific rule for the host path p (clean) and p's
// container path. The container path is always r.remote or below it.
func match(rs []rule, p string) (*rule, string, bool) {
	for i := range rs {
		r := &rs[i]
		if p == r.local {
			return r, r.remote, true
		}
		if rel, ok := subpath.Below(p, r.local); ok {
			remote := remoteJoin(r.remote, rel, filepath.Separator)
			if _, inside := subpath.BelowSlash(remote, r.remote); !inside {
				return nil, "", false // cannot happen with clean paths; never emit it
			}
			return r, remote, true
		}
	}
	return nil, "", false
}

// remoteJoin is the container path of rel, a host path relative to a rule's
// Local written with the host's separator sep, below the rule's Remote:
// container paths always use "/" (filepath.ToSlash, with the separator
// given so that the Windows case is tested on every host).
func remoteJoin(remote, rel string, sep byte) string {
	if sep != '/' {
		rel = strings.ReplaceAll(rel, string(sep), "/")
	}
	return path.Join(remote, rel)
}

// NewPlan maps changed host paths (absolute) through rules. Lstat decides:
// a path that exists is copied, one that does not is deleted. A changed
// directory is copied as the entry itself, because the watcher reports the
// files in it individually; but a directory none of whose descendants are in
// changed (a new empty directory, or a tree moved in and reported as just its
// root) is copied with its whole subtree. Rules may nest or overlap: the rule
// with the longest Local wins. Paths below a symlinked directory are dropped
// (the symlink is an entry; nothing is written or deleted through it), and a
// path whose parent is no longer a directory is not deleted (copying that
// parent replaces the old tree).
func NewPlan(rules []model.SyncRule, changed []string) Plan {
	rs := compile(rules)
	paths := make([]string, 0, len(changed))
	for _, p := range changed {
		paths = append(paths, filepath.Clean(p))
	}
	sort.Strings(paths)
	paths = slices.Compact(paths)

	plan := Plan{Rules: rules}
	b := planner{rs: rs, dirOK: map[string]bool{}, seen: map[string]bool{}, plan: &plan}
	for _, p := range paths {
		r, remote, ok := match(rs, p)
		if !ok {
			plan.Unmatched = append(plan.Unmatched, p)
			continue
		}
		if !b.noLinkAbove(r, p) {
			continue
		}
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if remote != "/" {
				plan.Deletes = append(plan.Deletes, remote)
			}
			continue
		case errors.Is(err, syscall.ENOTDIR):
			continue
		}
		// Other Lstat errors: copy it anyway, Apply reports why it cannot.
		b.copy(p, remote)
		if err == nil && fi.IsDir() && !hasDescendant(paths, p) {
			b.subtree(p)
		}
	}
	slices.SortFunc(plan.Copies, func(a, b File) int { return strings.Compare(a.Remote, b.Remote) })
	plan.Deletes = topmost(plan.Deletes)
	return plan
}

type planner struct {
	rs    []rule
	dirOK map[string]bool // host dir -> it is a real directory (or missing), and so are its parents up to the rule
	seen  map[string]bool // container paths already in the plan
	plan  *Plan
}

func (b *planner) copy(local, remote string) {
	if b.seen[remote] {
		return
	}
	b.seen[remote] = true
	b.plan.Copies = append(b.plan.Copies, File{Local: local, Remote: remote})
}

// subtree adds everything below the directory dir, each entry mapped by its
// own most specific rule.
func (b *planner) subtree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil // an unreadable directory is still copied itself
		}
		if _, remote, ok := match(b.rs, p); ok {
			b.copy(p, remote)
		}
		if d.IsDir() {
			b.dirOK[p] = true // WalkDir does not follow symlinks
		}
		return nil
	})
}

// noLinkAbove reports whether every directory from p's parent up to the
// rule's Local (included) is a real directory or missing, not a symlink or
// a file.
func (b *planner) noLinkAbove(r *rule, p string) bool {
	if p == r.local {
		return true
	}
	var todo []string
	ok := true
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if known, done := b.dirOK[d]; done {
			ok = known
			break
		}
		todo = append(todo, d)
		if d == r.local || d == filepath.Dir(d) {
			break
		}
	}
	// Resolve from the top down: a bad parent makes every child bad.
	for i := len(todo) - 1; i >= 0; i-- {
		d := todo[i]
		if ok {
			fi, err := os.Lstat(d)
			if err != nil {
				ok = errors.Is(err, fs.ErrNotExist)
			} else {
				ok = fi.IsDir()
			}
		}
		b.dirOK[d] = ok
	}
	return ok
}

// hasDescendant reports whether sorted holds a path below dir.
func hasDescendant(sorted []string, dir string) bool {
	prefix := dir
	if !strings.HasSuffix(dir, string(filepath.Separator)) { // "/" and `C:\` end in one
		prefix += string(filepath.Separator)
	}
	i := sort.SearchStrings(sorted, prefix)
	return i < len(sorted) && strings.HasPrefix(sorted[i], prefix) && sorted[i] != dir
}

// topmost sorts container paths and drops duplicates and paths below
// another one in the list (removing the parent removes them).
func topmost(paths []string) []string {
	if len(paths) == 0 {
		return paths
	}
	sort.Strings(paths)
	paths = slices.Compact(paths)
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	out := paths[:0]
	for _, p := range paths {
		if !ancestorIn(set, p) {
			out = append(out, p)
		}
	}
	return out
}

func ancestorIn(set map[string]bool, p string) bool {
	for d := path.Dir(p); d != p; p, d = d, path.Dir(d) {
		if set[d] {
			return true
		}
	}
	return false
}
