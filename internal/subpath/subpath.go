// Package subpath answers one question: is a path at or below another?
// Every function takes the path first and the root second and reads in
// that order at the call site (IsWithin(p, root): "p is within root"), so
// the arguments cannot be swapped unnoticed. The checks are lexical: no
// symlink is followed and nothing touches the file system.
//
// Host paths use the host separator; the *Slash functions are for paths in
// a container (always "/").
package subpath

import (
	"path/filepath"
	"strings"
)

// IsWithin reports whether host path p is root itself or below it. Both
// are cleaned first ("/a/b/" is within "/a", "/a/bc" is not within "/a/b");
// a relative path is never within an absolute one, nor the other way round.
func IsWithin(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Below reports whether host path p is strictly below root (not root
// itself), and returns p relative to root. Both must already be clean.
func Below(p, root string) (rel string, ok bool) {
	return below(p, root, string(filepath.Separator))
}

// BelowSlash is Below for clean slash-separated (container) paths.
func BelowSlash(p, root string) (rel string, ok bool) {
	return below(p, root, "/")
}

// IsWithinSlash reports whether the clean slash-separated path p is root
// itself or below it.
func IsWithinSlash(p, root string) bool {
	_, ok := BelowSlash(p, root)
	return ok || p == root
}

func below(p, root, sep string) (string, bool) {
	if root == sep {
		if len(p) > len(sep) && strings.HasPrefix(p, sep) {
			return p[len(sep):], true
		}
		return "", false
	}
	if len(p) > len(root)+len(sep) && strings.HasPrefix(p, root) && p[len(root):len(root)+len(sep)] == sep {
		return p[len(root)+len(sep):], true
	}
	return "", false
}
