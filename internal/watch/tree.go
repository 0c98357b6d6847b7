package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// dirNode is the index of one watched directory. The index is kept compact:
// file names are map keys within their directory (full paths are built only
// for events), and a file costs one 32-byte fileState.
type dirNode struct {
	rules   *ruleSet             // rules for entries of this directory
	files   map[string]fileState // file name -> last known state
	subdirs map[string]struct{}  // watched subdirectory names
	only    map[string]bool      // non-nil: watched for these file names only (a file in Options.Paths)
	top     bool                 // listed in Options.Paths (or the parent of a listed file)
}

func (n *dirNode) addSubdir(name string) {
	if n.subdirs == nil {
		n.subdirs = make(map[string]struct{})
	}
	n.subdirs[name] = struct{}{}
}

// fileState is what the index knows of a file.
type fileState struct {
	size  int64
	mtime int64 // Unix nanoseconds
	hash  uint64
	flags uint8
}

const (
	stateHashed    uint8 = 1 << iota // hash is the xxh3 of the content at size/mtime
	stateIrregular                   // not a regular file (symlink, fifo...): compared by size and mtime
)

// maxHashSize bounds the files whose content is hashed; larger files are
// compared by size and mtime.
const maxHashSize = 8 << 20

func stateOf(fi fs.FileInfo) fileState {
	st := fileState{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if !fi.Mode().IsRegular() {
		st.flags |= stateIrregular
	}
	return st
}

// hashable reports whether st's content is compared by hash.
func (st fileState) hashable() bool {
	return st.flags&stateIrregular == 0 && st.size <= maxHashSize
}

type walkMode uint8

const (
	walkInitial walkMode = iota // index files with their size and mtime, report nothing
	walkReport                  // report every file found as created
)

func join(dir, name string) string {
	if strings.HasSuffix(dir, string(filepath.Separator)) {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

// addPaths walks Options.Paths: directories first, then single files, which
// are watched through their parent directory.
func (w *Watcher) addPaths() error {
	var dirs, files []string
	for _, p := range w.opts.Paths {
		fi, err := os.Stat(p)
		if err != nil {
			w.log.Warn("not watching missing path", "path", p, "err", err)
			continue
		}
		if fi.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if n := w.dirs[d]; n != nil {
			n.top, n.only = true, nil
			continue
		}
		if err := w.walkDir(d, w.rulesFor(d), nil, walkInitial); err != nil {
			return err
		}
		if n := w.dirs[d]; n != nil {
			n.top = true
		}
	}
	for _, p := range files {
		dir, name := filepath.Dir(p), filepath.Base(p)
		n := w.dirs[dir]
		if n == nil {
			if err := w.addWatch(dir); err != nil {
				if lerr := limitError(err, dir); errors.Is(lerr, ErrLimit) {
					return lerr
				}
				w.log.Warn("not watching", "path", p, "err", err)
				continue
			}
			n = &dirNode{rules: w.rulesFor(dir), files: make(map[string]fileState), only: make(map[string]bool), top: true}
			w.dirs[dir] = n
			w.watches.Add(1)
		}
		if n.only != nil {
			n.only[name] = true
		}
		if fi, err := os.Lstat(p); err == nil {
			n.files[name] = stateOf(fi)
		}
	}
	return nil
}

// rulesFor returns the ignore rules for entries of dir: from Root down to dir
// for a directory under Root; from dir itself for one outside Root.
func (w *Watcher) rulesFor(dir string) *ruleSet {
	if n := w.dirs[dir]; n != nil {
		return n.rules
	}
	return w.rulesFromDisk(dir)
}

func (w *Watcher) rulesFromDisk(dir string) *ruleSet {
	root := w.opts.Root
	switch {
	case dir == root:
		return (&ruleSet{base: root, extra: w.extra}).child(dir, true, true)
	case strings.HasPrefix(dir, root) && (strings.HasSuffix(root, string(filepath.Separator)) || dir[len(root)] == filepath.Separator):
		return w.rulesFor(filepath.Dir(dir)).child(dir, true, true)
	}
	return (&ruleSet{base: dir}).child(dir, true, true)
}

// walkDir watches dir, then lists it and walks its subdirectories. own are
// the rules for dir's entries when already known; otherwise they are parent's
// rules plus dir's own ignore files. A directory that cannot be watched or
// read is skipped with a log line, unless an inotify limit was reached.
// Under a tree source (FSEvents) watching a directory costs nothing: its
// root's stream already covers it.
func (w *Watcher) walkDir(dir string, own, parent *ruleSet, mode walkMode) error {
	if err := w.addWatch(dir); err != nil {
		if lerr := limitError(err, dir); errors.Is(lerr, ErrLimit) {
			return lerr
		}
		w.log.Debug("not watching", "path", dir, "err", err)
		return nil
	}
	entries, err := readDir(dir)
	if err != nil {
		_ = w.src.Remove(dir)
		w.log.Debug("not watching", "path", dir, "err", err)
		return nil
	}
	rules := own
	if rules == nil {
		var hasGit, hasLoop bool
		for _, e := range entries {
			switch e.Name() {
			case gitignoreName:
				hasGit = true
			case loopignoreName:
				hasLoop = true
			}
		}
		rules = parent.child(dir, hasGit, hasLoop)
	}
	node := &dirNode{rules: rules, files: make(map[string]fileState, len(entries))}
	w.dirs[dir] = node
	w.watches.Add(1)
	for _, e := range entries {
		name := e.Name()
		if builtinIgnored(name) {
			continue
		}
		child := join(dir, name)
		isDir := e.IsDir()
		if w.excluded(rules, child, isDir) {
			continue
		}
		if !isDir {
			if mode == walkReport {
				w.mark(child, pendState{})
				continue
			}
			if fi, err := e.Info(); err == nil {
				node.files[name] = stateOf(fi)
			}
			continue
		}
		node.addSubdir(name)
		if w.dirs[child] != nil {
			continue // a listed path walked on its own
		}
		if mode == walkReport {
			w.mark(child, pendState{})
		}
		if err := w.walkDir(child, nil, rules, mode); err != nil {
			return err
		}
	}
	return nil
}

// readDir lists dir without sorting it.
func readDir(dir string) ([]fs.DirEntry, error) {
	f, err := openShared(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// removeTree drops the watches and index of dir and everything below it;
// with report, every indexed path is marked so the batch reports it removed
// unless it is back by then.
func (w *Watcher) removeTree(dir string, report bool) {
	node := w.dirs[dir]
	if node == nil {
		return
	}
	for sub := range node.subdirs {
		w.removeTree(join(dir, sub), report)
	}
	if report {
		for name := range node.files {
			w.mark(join(dir, name), pendState{wasFile: true})
		}
		w.mark(dir, pendState{wasDir: true})
	}
	delete(w.dirs, dir)
	w.watches.Add(-1)
	_ = w.src.Remove(dir) // the kernel may have dropped it already
	if parent := w.dirs[filepath.Dir(dir)]; parent != nil {
		delete(parent.subdirs, filepath.Base(dir))
	}
}

// rescan compares dir (recursively) with the index and marks every
// difference: after an event overflow, and, with rulesChanged, after an
// ignore file changed (paths that became ignored are dropped silently, paths
// that are no longer ignored are reported created).
func (w *Watcher) rescan(dir string, rulesChanged bool) error {
	node := w.dirs[dir]
	if node == nil {
		return nil
	}
	if rulesChanged {
		if parent := w.dirs[filepath.Dir(dir)]; parent != nil && !node.top {
			node.rules = parent.rules.child(dir, true, true)
		} else {
			node.rules = w.rulesFromDisk(dir)
		}
	}
	entries, err := readDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.removeTree(dir, true)
		}
		return nil
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		if (node.only != nil && !node.only[name]) || builtinIgnored(name) {
			continue
		}
		seen[name] = true
		child := join(dir, name)
		st, had := node.files[name]
		if e.IsDir() {
			if sub := w.dirs[child]; sub != nil {
				switch {
				case sub.top:
				case w.excluded(node.rules, child, true):
					w.removeTree(child, false)
				default:
					if err := w.rescan(child, rulesChanged); err != nil {
						return err
					}
				}
				continue
			}
			if w.excluded(node.rules, child, true) {
				continue
			}
			w.mark(child, pendState{wasFile: had})
			node.addSubdir(name)
			if err := w.walkDir(child, nil, node.rules, walkReport); err != nil {
				return err
			}
			continue
		}
		if node.only == nil && w.excluded(node.rules, child, false) {
			delete(node.files, name)
			continue
		}
		if w.dirs[child] != nil { // a directory replaced by a file
			w.removeTree(child, true)
		}
		if !had {
			w.mark(child, pendState{})
			continue
		}
		if fi, err := e.Info(); err == nil {
			if now := stateOf(fi); now.size != st.size || now.mtime != st.mtime {
				w.mark(child, pendState{wasFile: true})
			}
		}
	}
	for name := range node.files {
		if !seen[name] {
			w.mark(join(dir, name), pendState{wasFile: true})
		}
	}
	for sub := range node.subdirs {
		if !seen[sub] {
			w.removeTree(join(dir, sub), true)
		}
	}
	return nil
}
