package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// mayBeLone reports whether the open batch is small enough to be a lone
// save, and not the rest of a burst: a batch opened less than Debounce
// after a lone save closed is the same writer going on (a formatter, a
// code generator), and waits for Debounce, so a burst is at most two
// batches. It costs no system call.
func (w *Watcher) mayBeLone() bool {
	return len(w.pending) <= loneMax && len(w.rulesDirty) == 0 && !w.overflow &&
		w.batchStart.Sub(w.loneAt) >= w.opts.Debounce
}

// closeLone closes the open batch when it is a lone save and git is not
// rewriting the tree; closed says it did. Both ways to a lone save (the
// writer's close, and Settle of quiet) decide here.
func (w *Watcher) closeLone(now time.Time) (closed bool, err error) {
	if !w.loneSave() || w.gitBusy(now) {
		return false, nil
	}
	w.loneAt = now
	return true, w.flush()
}

// loneSave reports whether the open batch is one save of a file the index
// knows: rewritten in place, or replaced by a rename (an atomic save) whose
// temp file is gone. Where the source reports close-writes, a file still
// open for writing is not saved yet. A file now empty that was not is taken
// for a save caught between its truncation and its write, not a lone save.
// It costs one lstat per pending path (at most loneMax).
func (w *Watcher) loneSave() bool {
	saved := 0
	for p, st := range w.pending {
		fi, err := os.Lstat(p)
		switch {
		case err != nil && st.gone && !st.wasFile && !st.wasDir:
			// A temp file made and gone within the batch (its event seen:
			// the disk may be ahead of the events read so far).
		case err == nil && st.wasFile && !st.writing && fi.Mode().IsRegular() && !w.truncated(p, fi.Size()):
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

// note records what ev says of pending p: gone (removed or renamed away),
// or open for writing, where the source reports close-writes (a close-write
// follows; a rename into place is whole).
func (w *Watcher) note(p string, ev fsnotify.Event) {
	st, ok := w.pending[p]
	if !ok {
		return
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		st.gone, st.writing = true, false
	}
	if ev.Has(fsnotify.Create) {
		st.gone = false
	}
	if w.closeWrites && (ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) && ev.Op&opMovedTo == 0) {
		st.writing = true
	}
	w.pending[p] = st
}

// closed records a close-write of p: its writer is done with it.
func (w *Watcher) closed(p string) {
	if st, ok := w.pending[p]; ok && st.writing {
		st.writing = false
		w.pending[p] = st
	}
}

// saveDone closes the open batch at once, without Settle, when the source
// reports close-writes and the batch is a lone save whose writer is done:
// the file written in place was closed, or the new file was renamed over it.
// It does not decide on the first half of a rename (ev a Rename): the
// kernel queues the second half right behind it.
func (w *Watcher) saveDone(ev fsnotify.Event) error {
	if !w.closeWrites || w.batchStart.IsZero() || ev.Has(fsnotify.Rename) || !w.mayBeLone() {
		return nil
	}
	for _, st := range w.pending {
		if st.writing {
			return nil
		}
	}
	_, err := w.closeLone(time.Now())
	return err
}
