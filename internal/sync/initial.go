package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/zeebo/xxh3"
	"golang.org/x/sync/errgroup"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/subpath"
)

// Initial brings the container in line with the host when a resource
// starts: it walks every rule's Local (skipping what opts.Ignore matches,
// and the parts of a tree a more specific rule owns) and applies the result
// with Apply. When t is a Hasher, entries whose kind, mode and content (or
// link target) already match are not copied, and container entries under a
// rule's Remote whose host counterpart does not exist are deleted: the host
// is authoritative, as in Okteto's first sync. Container paths whose host
// counterpart opts.Ignore matches are kept, and so is every rule's Remote
// itself. Without a Hasher everything is copied and nothing is deleted. A
// rule whose Local does not exist is skipped, and so is one whose Local
// really is outside opts.Root (through a symlinked parent): it is listed in
// Stats.Refused, and nothing under its Remote is deleted.
func Initial(ctx context.Context, t Target, rules []model.SyncRule, opts Options) (Stats, error) {
	c, err := newConfined(opts.Root)
	if err != nil {
		return Stats{}, fmt.Errorf("sync: %w", err)
	}
	defer c.close()
	rs := compile(rules)
	h, _ := t.(Hasher)
	var remote map[string]Entry
	if h != nil {
		have, err := h.Hashes(ctx, remoteRoots(rs))
		if err != nil {
			return Stats{}, fmt.Errorf("sync hashes: %w", err)
		}
		remote = make(map[string]Entry, len(have))
		for p, e := range have {
			remote[path.Clean("/"+p)] = e
		}
	}
	s := initialScan{rs: rs, remote: remote, c: c, ignore: opts.Ignore, local: map[string]bool{}, outside: map[*rule]bool{}}
	for i := range rs {
		var oe *outsideError
		if errors.As(c.checkRule(rs[i].local), &oe) {
			s.outside[&rs[i]] = true
			s.refused = append(s.refused, c.ruleOutside(&rs[i], oe))
			continue
		}
		if err := s.walk(&rs[i]); err != nil {
			return Stats{}, err
		}
	}
	if err := s.hashAll(ctx); err != nil {
		return Stats{}, err
	}
	plan := Plan{Copies: s.copies, Deletes: s.deletes(), Rules: rules}
	slices.SortFunc(plan.Copies, func(a, b File) int { return strings.Compare(a.Remote, b.Remote) })
	st, err := apply(ctx, t, plan, opts, c)
	st.Refused = append(s.refused, st.Refused...)
	return st, err
}

// remoteRoots are the rules' Remotes, without those inside another one.
func remoteRoots(rs []rule) []string {
	var all []string
	for _, r := range rs {
		all = append(all, r.remote)
	}
	return topmost(all)
}

// initialScan collects what Initial copies; one goroutine owns it, except
// hashAll's workers, which write only their own slot of verdicts.
type initialScan struct {
	rs      []rule
	remote  map[string]Entry // nil: the target cannot hash
	c       *confined
	ignore  func(string, bool) bool
	outside map[*rule]bool  // rules whose Local is outside the project: not walked
	local   map[string]bool // container paths the walk produced
	copies  []File
	check   []File // files whose kind and mode match the container's: compare content
	refused []string
}

func (s *initialScan) walk(r *rule) error {
	if _, err := os.Lstat(r.local); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("sync %s: %w", r.local, err)
	}
	return filepath.WalkDir(r.local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				s.refused = append(s.refused, p+": "+reasonOf(err))
			}
			return nil // the directory itself is still synced
		}
		owner, remote, ok := match(s.rs, p)
		if !ok || owner != r || (p != r.local && s.ignore != nil && s.ignore(p, d.IsDir())) {
			if d.IsDir() {
				return filepath.SkipDir // another rule's tree, or ignored
			}
			return nil
		}
		s.local[remote] = true
		s.consider(File{Local: p, Remote: remote}, d)
		return nil
	})
}

// consider adds f to the copies unless the container has it already.
func (s *initialScan) consider(f File, d fs.DirEntry) {
	e, have := s.remote[f.Remote]
	if !have {
		s.copies = append(s.copies, f)
		return
	}
	info, err := d.Info()
	if err != nil {
		s.copies = append(s.copies, f) // Apply reports it
		return
	}
	m := localMode(info.Mode())
	same := false
	switch {
	case m.IsDir():
		same = e.Kind == 'D' && sameMode(m, e.Mode)
	case m&fs.ModeSymlink != 0:
		link, reason := linkTarget(s.c, f.Local)
		same = reason == "" && e.Kind == 'L' && e.Link == link
	case m.IsRegular():
		if e.Kind == 'F' && sameMode(m, e.Mode) {
			s.check = append(s.check, f)
			return
		}
	}
	if !same {
		s.copies = append(s.copies, f)
	}
}

// sameMode compares permission, setuid, setgid and sticky bits; the
// container side may hold them as Go flags or as raw Unix bits.
func sameMode(local, remote fs.FileMode) bool {
	r := tarMode(remote) | int64(remote&(modeSetuid|modeSetgid|modeSticky))
	return tarMode(local) == r
}

// hashAll hashes the files in s.check in parallel and copies those whose
// content differs from the container's.
func (s *initialScan) hashAll(ctx context.Context) error {
	differs := make([]bool, len(s.check))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range s.check {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, err := hashFile(s.c, f.Local)
			differs[i] = err != nil || h != s.remote[f.Remote].Hash // an unreadable file: Apply reports it
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("sync hash: %w", err)
	}
	for i, f := range s.check {
		if differs[i] {
			s.copies = append(s.copies, f)
		}
	}
	return nil
}

// hashFile hashes the content of the host file name, read as Apply reads
// it (through c).
func hashFile(c *confined, name string) (uint64, error) {
	f, err := c.openFile(name)
	if err != nil {
		return 0, err
	}
	defer f.close()
	h := xxh3.New()
	buf := make([]byte, 32<<10)
	for {
		n, err := f.read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return h.Sum64(), nil
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// deletes are the topmost container paths, strictly below a rule's Remote,
// whose host counterpart (through the most specific Remote) neither exists
// nor is ignored.
func (s *initialScan) deletes() []string {
	if len(s.remote) == 0 {
		return nil
	}
	byRemote := make([]*rule, len(s.rs))
	for i := range s.rs {
		byRemote[i] = &s.rs[i]
	}
	slices.SortStableFunc(byRemote, func(a, b *rule) int { return len(b.remote) - len(a.remote) })
	paths := make([]string, 0, len(s.remote))
	for p := range s.remote {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	kept := map[string]bool{} // container paths that stay with everything below
	gone := map[string]bool{} // container paths deleted with everything below
	var out []string
	for _, p := range paths {
		if s.local[p] || ancestorIn(kept, p) || ancestorIn(gone, p) {
			continue
		}
		r, local, ok := hostPath(byRemote, p)
		if !ok || s.outside[r] {
			continue // not strictly below any Remote, or the rule's Local is outside the project: unknown
		}
		if s.ignore != nil && s.ignore(local, s.remote[p].Kind == 'D') {
			kept[p] = true
			continue
		}
		if _, err := os.Lstat(local); err == nil || !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			continue // it exists (another rule's tree, under a symlink, ...): keep
		}
		gone[p] = true
		out = append(out, p)
	}
	return out
}

// hostPath maps the container path p back to the host through the rule
// with the most specific Remote strictly above p.
func hostPath(byRemote []*rule, p string) (*rule, string, bool) {
	for _, r := range byRemote {
		if rel, ok := subpath.BelowSlash(p, r.remote); ok {
			return r, filepath.Join(r.local, filepath.FromSlash(rel)), true
		}
	}
	return nil, "", false
}
