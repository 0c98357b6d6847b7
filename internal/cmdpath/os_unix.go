//go:build !windows

package cmdpath

import "strings"

// isPath reports whether file names a path rather than a command to
// search for.
func isPath(file string) bool { return strings.Contains(file, "/") }

// candidates are the files p may name: p itself.
func candidates(p, _ string) []string { return []string{p} }

// executable reports whether p is a file with an execute bit.
func executable(p string) bool {
	mode, ok := statExec(p)
	return ok && mode&0o111 != 0
}

func sameEnvName(a, b string) bool { return a == b }
