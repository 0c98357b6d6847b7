package watch

import (
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/zeebo/xxh3"
)

// pendState is what the index knew of a pending path before the first event
// for it in the open batch. Comparing it with the disk when the batch closes
// coalesces any sequence of events into one net change.
type pendState struct {
	wasFile bool
	wasDir  bool
	writing bool // opened for writing and not closed since (sources that report close-writes)
	gone    bool // its last event was a removal or a rename away
}

// resolve returns the net change of p over the batch and updates the index.
func (w *Watcher) resolve(p string, was pendState) (Op, bool) {
	dir, name := filepath.Dir(p), filepath.Base(p)
	node := w.dirs[dir]
	fi, err := os.Lstat(p)
	if err != nil {
		if node != nil {
			delete(node.files, name)
		}
		if was.wasFile || was.wasDir {
			return Remove, true
		}
		return 0, false // created and removed within the batch: a temp file
	}
	if fi.IsDir() {
		if node != nil {
			delete(node.files, name)
		}
		switch {
		case was.wasFile:
			return Write, true // a file replaced by a directory
		case was.wasDir:
			return 0, false
		}
		return Create, true
	}
	if node == nil {
		// Its directory is no longer watched (removed, or now ignored).
		if was.wasFile {
			return Remove, true
		}
		return 0, false
	}
	now := stateOf(fi)
	if now.hashable() {
		if h, ok := w.hashFile(p, now.size); ok {
			now.hash = h
			now.flags |= stateHashed
		}
	}
	old, had := node.files[name]
	node.files[name] = now
	switch {
	case !was.wasFile:
		return Create, true
	case had && sameContent(old, now):
		return 0, false // rewritten with the same bytes
	}
	return Write, true
}

// sameContent reports whether two states of a file have the same content as
// far as the index can tell; an unknown hash counts as changed.
func sameContent(old, now fileState) bool {
	if old.size != now.size {
		return false
	}
	if now.hashable() {
		return old.flags&stateHashed != 0 && now.flags&stateHashed != 0 && old.hash == now.hash
	}
	return old.mtime == now.mtime && old.flags&stateIrregular == now.flags&stateIrregular
}

// hashFile hashes the content of the regular file p (at most maxHashSize).
func (w *Watcher) hashFile(p string, size int64) (uint64, bool) {
	f, err := os.Open(p)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return hashContent(f, size, w.hashBuf)
}

// hashContent is xxh3 of the content of f, expected to be size bytes long,
// using buf for reading.
func hashContent(f *os.File, size int64, buf []byte) (uint64, bool) {
	if size < int64(len(buf)) {
		n, err := io.ReadFull(f, buf[:size+1])
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, false // grew meanwhile: a later event will tell
		}
		return xxh3.Hash(buf[:n]), true
	}
	h := xxh3.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, maxHashSize+1), buf)
	if err != nil || n > maxHashSize {
		return 0, false
	}
	return h.Sum64(), true
}

// mergeChanges folds newer changes into an undelivered batch's changes,
// keeping one entry per path: create+write = create, create+remove = nothing,
// write+remove = remove, remove+create = write.
func mergeChanges(old, newer []Change) []Change {
	idx := make(map[string]int, len(old))
	for i, c := range old {
		idx[c.Path] = i
	}
	for _, c := range newer {
		i, ok := idx[c.Path]
		if !ok {
			idx[c.Path] = len(old)
			old = append(old, c)
			continue
		}
		old[i].Op = combine(old[i].Op, c.Op)
	}
	out := old[:0]
	for _, c := range old {
		if c.Op != 0 {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func combine(first, then Op) Op {
	switch {
	case first == Create && then == Remove:
		return 0
	case first == Create:
		return Create
	case then == Remove:
		return Remove
	}
	return Write // write+write, remove+create
}
