// Package sync copies changed host files into a container as one tar stream.
//
// The model: a batch of changed host paths (from the watcher) becomes a Plan
// with NewPlan: every path is mapped through the most specific
// model.SyncRule to a container path, and is either a copy (it exists on the
// host) or a delete (it does not). Apply turns a Plan into exactly one tar
// stream, written while the Target reads it (never buffered whole), followed
// by one Delete call. Initial brings a container up to date when a resource
// starts: it walks every rule and, when the Target can hash what it already
// holds (Hasher), copies only what differs and deletes what the host does
// not have.
//
// Safety rules, enforced here and not left to targets:
//   - a tar entry is always inside its rule's remote path: names are built
//     from cleaned paths and checked, never from user-supplied ".." parts;
//   - a host path below a symlinked directory is never an entry of its own
//     (the symlink is synced instead), so nothing is written through a link;
//   - every host file is read through its real path inside Options.Root:
//     the directories above it (the rule's Local and its parents included)
//     are resolved, a rule or file whose real path leaves the root is
//     refused, and contents and link targets are read relative to a
//     directory opened from the root without following symlinks, so a
//     directory swapped for a symlink meanwhile is never read through
//     (confine.go);
//   - symlinks whose target resolves outside Options.Root are refused, and so
//     are sockets, devices and fifos: they are skipped and listed in
//     Stats.Refused, the rest of the batch still goes through.
package sync

import (
	"context"
	"io"
	"io/fs"

	"github.com/loopdev/loop/internal/model"
)

// Target is where synced files go (a container). Implemented by the docker
// and containerd runtimes.
type Target interface {
	// Copy extracts a tar stream at "/" in the container. Entry names are
	// absolute container paths without the leading slash
	// ("app/src/main.go"); directories end in "/". An entry replaces an
	// existing path of another kind (a file over a directory: with Docker,
	// CopyToContainerOptions.AllowOverwriteDirWithFile). Copy must read the
	// stream to its end or return an error.
	Copy(ctx context.Context, tar io.Reader) error
	// Delete removes absolute container paths (the target may queue them
	// when it is stopped). Paths are clean, absolute and never "/".
	Delete(ctx context.Context, paths []string) error
}

// Hasher is an optional Target ability used by Initial: content hashes of
// what is already in the container.
type Hasher interface {
	// Hashes lists every entry under each of dirs (the entry for the dir
	// itself included), keyed by absolute container path. A dir may be a
	// file (a sync rule whose Local is a file); a missing dir lists nothing.
	Hashes(ctx context.Context, dirs []string) (map[string]Entry, error)
}

// Entry is one path in the container as a Hasher sees it.
type Entry struct {
	Kind byte        // 'F' file, 'L' symlink, 'D' directory
	Hash uint64      // F: xxh3.Hash of the content
	Mode fs.FileMode // permission bits plus fs.ModeSetuid/ModeSetgid/ModeSticky (raw 07000 bits are accepted too)
	Link string      // L: the link target, as stored
}

// Options say how entries are written.
type Options struct {
	// Root is the absolute project root: nothing is read outside it, and
	// symlinks resolving outside it are refused (reported, not copied).
	// With no Root every entry is refused.
	Root string
	// UID and GID own every copied entry (-1: 0, root): the container
	// user's numeric ids.
	UID, GID int
	// Ignore, when set, is the watcher's ignore matcher: Initial neither
	// walks nor copies host paths it matches, and never deletes container
	// paths whose host counterpart it matches (a node_modules installed in
	// the image survives). Apply does not consult it: batches are filtered
	// by the watcher already.
	Ignore func(hostPath string, isDir bool) bool
}

// Plan is what one batch of changes does to a container.
type Plan struct {
	Copies    []File   // host file/dir/symlink -> container path, sorted by Remote (parents first)
	Deletes   []string // container paths of host paths that no longer exist, sorted, none below another
	Unmatched []string // changed host paths under no rule
	// Rules are the sync rules the plan was made with: Apply names the
	// rule of a file it refuses.
	Rules []model.SyncRule
}

// File is one entry to copy.
type File struct {
	Local  string // absolute host path
	Remote string // absolute container path
}

// Stats say what Apply or Initial did.
type Stats struct {
	Files, Dirs, Links, Deleted int
	Bytes                       int64    // file content bytes streamed
	Refused                     []string // "host path: reason" of entries skipped for safety or because they could not be read
}

func (s *Stats) refuse(local, reason string) {
	s.Refused = append(s.Refused, local+": "+reason)
}
