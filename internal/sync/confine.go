package sync

// Confinement: whatever a sync rule says, the sync reads a host file only
// through its real location inside the project. A rule's Local or any
// parent of a synced file may be a symlink (ln -s /elsewhere lnk and
// sync("lnk/sub", ...)): the directory is resolved, refused when its real
// path leaves the project root, and otherwise opened by walking down from
// the root's handle one component at a time, never through a symlink.
// File contents and link targets are then read relative to that handle, so
// a directory swapped for a symlink after the check is an error, not a read
// outside the project.
//
// This file is the policy, the same everywhere; the primitives it opens
// directories and files with (dirHandle, openRoot, openSubdir, closeDir,
// hostFile, openIn, readlinkIn) are per platform: raw *at system calls with
// O_NOFOLLOW on Unix (confine_unix.go), os.Root on Windows
// (confine_windows.go).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"

	"github.com/loopdev/loop/internal/subpath"
)

// errNoRoot refuses every entry of a sync without a project root.
var errNoRoot = errors.New("no project root to check it against: not copied")

// outsideError says that a host path's real location is outside the
// project.
type outsideError struct {
	path, real, root string
}

func (e *outsideError) Error() string {
	return fmt.Sprintf("%s resolves to %s, outside the project %s", e.path, e.real, e.root)
}

// confined opens host directories and files only through their real paths
// inside the project root. One serves one Apply or Initial; its methods
// may be called from several goroutines (Initial hashes in parallel).
type confined struct {
	root string // Options.Root, clean; "" refuses everything
	real string // root with symlinks resolved

	rootDir  dirHandle // the real root, open while rootOpen
	rootOpen bool

	mu    gosync.Mutex
	open  []openDir           // the directory opened last and its parents below the root, outermost first
	reals map[string]resolved // host dirs whose path has a symlink
}

// resolved is where a host directory whose path has a symlink really is.
type resolved struct {
	rel     string        // below the real root ("" = the root itself)
	outside *outsideError // set when it is not inside the project
}

// openDir is one component of the open directory stack.
type openDir struct {
	name string
	dir  dirHandle
}

// newConfined opens the project root; with root "" every read is refused.
func newConfined(root string) (*confined, error) {
	c := &confined{reals: map[string]resolved{}}
	if root == "" {
		return c, nil
	}
	c.root = filepath.Clean(root)
	real, err := filepath.EvalSymlinks(c.root)
	if err != nil {
		return nil, fmt.Errorf("project root: %w", err)
	}
	c.real = real
	if c.rootDir, err = openRoot(real); err != nil {
		return nil, fmt.Errorf("project root: open %s: %w", real, err)
	}
	c.rootOpen = true
	return c, nil
}

func (c *confined) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.popTo(0)
	if c.rootOpen {
		closeDir(c.rootDir)
		c.rootOpen = false
	}
}

// rootContains reports whether p is root or below it (both clean and
// absolute).
func rootContains(root, p string) bool {
	if p == root {
		return true
	}
	_, below := subpath.Below(p, root)
	return below
}

// realPath resolves the symlinks of p's longest existing prefix and
// appends the rest: where p is, or would be once created.
func realPath(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// OutsideRoot reports whether the host path p really is outside the
// project directory root (both absolute): with the symlinks of p's
// existing part resolved (its parents and itself), and root's, p is
// neither root nor below it. real is where p really is. root itself is
// never outside, whatever its own path is. This is the rule sync applies
// to a sync rule's Local, and the Loopfile's sync() at evaluation.
func OutsideRoot(root, p string) (real string, outside bool) {
	root, p = filepath.Clean(root), filepath.Clean(p)
	if p == root {
		return p, false
	}
	real = realPath(p)
	return real, !rootContains(realPath(root), real)
}

// checkRule returns an *outsideError when the rule's Local really is
// outside the project, nil otherwise.
func (c *confined) checkRule(local string) error {
	if c.root == "" {
		return errNoRoot
	}
	if local == c.root {
		return nil
	}
	if real := realPath(local); !rootContains(c.real, real) {
		return &outsideError{path: local, real: real, root: c.root}
	}
	return nil
}

// dir returns a handle of the host directory d, valid until the next
// call (the caller holds c.mu). The error wraps fs.ErrNotExist when d is
// gone, is an *outsideError when d really is outside the project.
func (c *confined) dir(d string) (h dirHandle, err error) {
	if !c.rootOpen {
		return h, errNoRoot
	}
	if d == c.root {
		c.popTo(0)
		return c.rootDir, nil
	}
	if r, ok := c.reals[d]; ok {
		if r.outside != nil {
			return h, r.outside
		}
		return c.walk(d, r.rel)
	}
	if rel, lexical := subpath.Below(d, c.root); lexical {
		h, err = c.walk(d, rel)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return h, err
		}
		// A component is a symlink (or not a directory): resolve it.
	}
	real, err := filepath.EvalSymlinks(d)
	if err != nil {
		return h, err
	}
	var r resolved
	if real != c.real {
		var inside bool
		if r.rel, inside = subpath.Below(real, c.real); !inside {
			r.outside = &outsideError{path: d, real: real, root: c.root}
		}
	}
	c.reals[d] = r
	if r.outside != nil {
		return h, r.outside
	}
	return c.walk(d, r.rel)
}

// walk opens rel (a path below the root without symlinks, "" for the
// root) from the root's handle, reusing the open stack's common prefix,
// never following a symlink.
func (c *confined) walk(d, rel string) (h dirHandle, err error) {
	var parts []string
	if rel != "" {
		parts = strings.Split(rel, string(filepath.Separator))
	}
	keep := 0
	for keep < len(c.open) && keep < len(parts) && c.open[keep].name == parts[keep] {
		keep++
	}
	c.popTo(keep)
	for _, name := range parts[keep:] {
		parent := c.rootDir
		if n := len(c.open); n > 0 {
			parent = c.open[n-1].dir
		}
		sub, err := openSubdir(parent, name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return h, fmt.Errorf("%s: %w", d, fs.ErrNotExist)
			}
			return h, &fs.PathError{Op: "open", Path: d, Err: err}
		}
		c.open = append(c.open, openDir{name: name, dir: sub})
	}
	if len(c.open) == 0 {
		return c.rootDir, nil
	}
	return c.open[len(c.open)-1].dir, nil
}

// popTo closes the open stack down to n entries.
func (c *confined) popTo(n int) {
	for len(c.open) > n {
		closeDir(c.open[len(c.open)-1].dir)
		c.open = c.open[:len(c.open)-1]
	}
}

// lstat is os.Lstat of p once its directory is known to be inside the
// project: through the directory's real path.
func (c *confined) lstat(p string) (fs.FileInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.dir(filepath.Dir(p)); err != nil {
		return nil, err
	}
	return os.Lstat(c.realOf(p))
}

// realOf is p through its directory's real path; c.dir(Dir(p)) succeeded.
func (c *confined) realOf(p string) string {
	d := filepath.Dir(p)
	if r, ok := c.reals[d]; ok {
		return filepath.Join(c.real, r.rel, filepath.Base(p))
	}
	if d == c.root {
		return filepath.Join(c.real, filepath.Base(p))
	}
	rel, _ := subpath.Below(d, c.root)
	return filepath.Join(c.real, rel, filepath.Base(p))
}

// openFile opens the file p for reading, never through a symlink (and
// without blocking on a fifo swapped in).
func (c *confined) openFile(p string) (f hostFile, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dir(filepath.Dir(p))
	if err != nil {
		return f, err
	}
	if f, err = openIn(d, filepath.Base(p)); err != nil {
		return f, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return f, nil
}

// readlink reads the target of the symlink p.
func (c *confined) readlink(p string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.dir(filepath.Dir(p))
	if err != nil {
		return "", err
	}
	target, err := readlinkIn(d, filepath.Base(p))
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	return target, nil
}

// ruleOutside is the refusal of a whole sync rule whose Local really is
// outside the project.
func (c *confined) ruleOutside(r *rule, oe *outsideError) string {
	local := r.local
	if local == c.root {
		local = "."
	} else if rel, ok := subpath.Below(local, c.root); ok {
		local = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("%s: sync(%q, %q) resolves to %s, outside the project %s: nothing under it is synced",
		r.local, local, r.remote, oe.real, oe.root)
}

// outsideRules groups the copies refused because their directory is
// outside the project by sync rule, so that a rule whose Local itself
// resolves outside is reported once, not once per file.
type outsideRules struct {
	c      *confined
	rules  []rule
	byRule map[*rule]*outsideRule
	order  []*rule
}

type outsideRule struct {
	oe *outsideError // nil: the rule is inside, its files are reported one by one
	n  int
}

// add takes the refusal err of f when it belongs to a rule that is outside
// as a whole, and reports whether it did.
func (o *outsideRules) add(f File, err error) bool {
	var oe *outsideError
	if !errors.As(err, &oe) {
		return false
	}
	r, _, ok := match(o.rules, f.Local)
	if !ok {
		return false
	}
	if o.byRule == nil {
		o.byRule = map[*rule]*outsideRule{}
	}
	x, seen := o.byRule[r]
	if !seen {
		x = &outsideRule{}
		if errors.As(o.c.checkRule(r.local), &x.oe) {
			o.order = append(o.order, r)
		}
		o.byRule[r] = x
	}
	if x.oe == nil {
		return false
	}
	x.n++
	return true
}

// report is one Stats.Refused line per rule outside the project.
func (o *outsideRules) report() []string {
	var out []string
	for _, r := range o.order {
		x := o.byRule[r]
		out = append(out, fmt.Sprintf("%s (%d entries refused)", o.c.ruleOutside(r, x.oe), x.n))
	}
	return out
}
