package cmdpath

import "strings"

// isPath reports whether file names a path rather than a command to
// search for: it has a separator of either kind or a drive ("C:x").
func isPath(file string) bool { return strings.ContainsAny(file, `/\:`) }

// candidates are the files p may name, as Windows runs them: p itself
// when its extension is one of pathext's (PATHEXT, ".COM;.EXE;.BAT;.CMD"
// when unset), else p with each extension.
func candidates(p, pathext string) []string { return withExts(p, pathext) }

// executable reports whether p is a file: Windows has no execute bit, the
// extension decides (candidates).
func executable(p string) bool {
	_, ok := statExec(p)
	return ok
}

func sameEnvName(a, b string) bool { return strings.EqualFold(a, b) }
