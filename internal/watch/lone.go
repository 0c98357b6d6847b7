package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"time"
)

// mayBeLone reports whether the open batch is small enough to be a lone
// save; it costs no system call.
func (w *Watcher) mayBeLone() bool {
	return len(w.pending) <= loneMax && len(w.rulesDirty) == 0 && !w.overflow
}

// loneSave reports whether the open batch is one save of a file the index
// knows: rewritten in place, or replaced by a rename (an atomic save) whose
// temp file is gone. A file now empty that was not is taken for a save
// caught between its truncation and its write, not a lone save. It costs one
// lstat per pending path (at most loneMax).
func (w *Watcher) loneSave() bool {
	saved := 0
	for p, st := range w.pending {
		fi, err := os.Lstat(p)
		switch {
		case err != nil && !st.wasFile && !st.wasDir:
			// A temp file made and gone within the batch.
		case err == nil && st.wasFile && fi.Mode().IsRegular() && !w.truncated(p, fi.Size()):
			saved++
		default:
			return false
		}
	}
	return saved == 1
}

// truncated reports whether p is now empty and the index knew it non-empty.
func (w *Watcher) truncated(p string, size int64) bool {
	if size != 0 {
		return false
	}
	node := w.dirs[filepath.Dir(p)]
	if node == nil {
		return false
	}
	old, ok := node.files[filepath.Base(p)]
	return ok && old.size > 0
}

// gitBusy reports whether git holds the index lock of the repository Root
// is in: a checkout, merge, rebase or stash is rewriting the tree, and its
// files are one batch however long git pauses between them. A lock older
// than MaxWait is taken for one a crashed git left behind, and ignored.
func (w *Watcher) gitBusy(now time.Time) bool {
	if w.gitLock == "" {
		return false
	}
	fi, err := os.Lstat(w.gitLock)
	return err == nil && now.Sub(fi.ModTime()) < w.opts.MaxWait
}

// findGitLock returns the index.lock path of the git repository dir is in
// (dir or an ancestor holds .git: a directory, or a file naming the git
// directory of a worktree or submodule); "" outside git.
func findGitLock(dir string) string {
	for {
		dotgit := filepath.Join(dir, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			if fi.IsDir() {
				return filepath.Join(dotgit, "index.lock")
			}
			return gitdirLock(dir, dotgit)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// gitdirLock reads a .git file ("gitdir: PATH") and returns PATH's
// index.lock; "" when the file says something else.
func gitdirLock(dir, dotgit string) string {
	b, err := os.ReadFile(dotgit)
	if err != nil {
		return ""
	}
	rest, ok := bytes.CutPrefix(b, []byte("gitdir:"))
	if !ok {
		return ""
	}
	gd := string(bytes.TrimSpace(rest))
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(dir, gd)
	}
	return filepath.Join(gd, "index.lock")
}
