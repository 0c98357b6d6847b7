package watch

import (
	"context"
	"time"
)

// The initial walk records size and mtime only, so Ready does not wait for
// file contents. One background goroutine then hashes the indexed files and
// hands the hashes to the event loop, which keeps a hash only if the file
// still has the size and mtime the walk saw, has no event pending, and was
// last modified comfortably before the walk (mtime granularity is coarse, so
// a write just after the walk could otherwise look unchanged). A file without
// a known hash counts as changed on its next event.

// mtimeSlack is how long before the walk a file must have been modified for
// a background hash to become its baseline.
const mtimeSlack = 50 * time.Millisecond

// hashJob is the files of one directory to hash.
type hashJob struct {
	dir   string
	names []string
}

// hashResult carries the state observed for each file of a job; a zero
// state means the file could not be hashed.
type hashResult struct {
	dir    string
	names  []string
	states []fileState
}

// hashJobs lists the indexed files that need a hash.
func (w *Watcher) hashJobs() []hashJob {
	var jobs []hashJob
	for dir, node := range w.dirs {
		var names []string
		for name, st := range node.files {
			if st.hashable() && st.flags&stateHashed == 0 {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			jobs = append(jobs, hashJob{dir: dir, names: names})
		}
	}
	return jobs
}

// hashInBackground hashes jobs one file at a time and sends one result per
// job, until done (it then closes results) or ctx ends.
func hashInBackground(ctx context.Context, jobs []hashJob, results chan<- hashResult) {
	defer close(results)
	buf := make([]byte, 64<<10)
	for _, job := range jobs {
		res := hashResult{dir: job.dir, names: job.names, states: make([]fileState, len(job.names))}
		for i, name := range job.names {
			if ctx.Err() != nil {
				return
			}
			res.states[i] = hashOne(join(job.dir, name), buf)
		}
		select {
		case results <- res:
		case <-ctx.Done():
			return
		}
	}
}

// hashOne returns the state of a regular file with its hash, observing size
// and mtime from the open file before reading it.
func hashOne(p string, buf []byte) fileState {
	f, err := openShared(p)
	if err != nil {
		return fileState{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxHashSize {
		return fileState{}
	}
	st := stateOf(fi)
	h, ok := hashContent(f, st.size, buf)
	if !ok {
		return fileState{}
	}
	st.hash = h
	st.flags |= stateHashed
	return st
}

// applyHashes records background hashes that are still valid (see above).
func (w *Watcher) applyHashes(res hashResult) {
	node := w.dirs[res.dir]
	if node == nil {
		return
	}
	cutoff := w.walkStart.Add(-mtimeSlack).UnixNano()
	for i, name := range res.names {
		got := res.states[i]
		if got.flags&stateHashed == 0 || got.mtime >= cutoff {
			continue
		}
		st, ok := node.files[name]
		if !ok || st.flags&stateHashed != 0 || st.size != got.size || st.mtime != got.mtime {
			continue
		}
		if _, pending := w.pending[join(res.dir, name)]; pending {
			continue
		}
		node.files[name] = got
	}
}
