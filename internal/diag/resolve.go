package diag

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/subpath"
)

// Resolve makes File absolute on the host. A relative path is joined to
// dir, the resource's working directory. A path under a sync rule's Remote
// is mapped back to its Local (the longest Remote wins); this also applies
// to a relative path joined to dir, so a container resource may pass its
// working directory in the container. Any other absolute path (the
// container's standard library, a file the host does not have) is kept as
// printed: still useful to read. Resolve does not touch the file system and
// returns a new slice.
func Resolve(ds []api.Diagnostic, dir string, rules []model.SyncRule) []api.Diagnostic {
	if ds == nil {
		return nil
	}
	out := make([]api.Diagnostic, len(ds))
	for i, d := range ds {
		d.File = resolveFile(d.File, dir, rules)
		out[i] = d
	}
	return out
}

func resolveFile(file, dir string, rules []model.SyncRule) string {
	if file == "" {
		return ""
	}
	p := filepath.ToSlash(file)
	if !path.IsAbs(p) {
		if dir == "" {
			return file
		}
		p = filepath.ToSlash(filepath.Join(dir, file))
	}
	if local, ok := mapRemote(path.Clean(p), rules); ok {
		return local
	}
	return filepath.FromSlash(p)
}

// mapRemote maps a container path under a rule's Remote to the host.
func mapRemote(p string, rules []model.SyncRule) (string, bool) {
	best, local := "", ""
	for _, r := range rules {
		if r.Remote == "" || r.Local == "" {
			continue
		}
		remote := path.Clean(r.Remote)
		if !subpath.IsWithinSlash(p, remote) || len(remote) <= len(best) {
			continue
		}
		best, local = remote, filepath.Join(r.Local, filepath.FromSlash(strings.TrimPrefix(p, remote)))
	}
	return local, best != ""
}
