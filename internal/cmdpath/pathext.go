package cmdpath

import (
	"path/filepath"
	"strings"
)

// defaultPathext is PATHEXT's executable extensions when it is unset.
const defaultPathext = ".COM;.EXE;.BAT;.CMD"

// withExts is Windows' rule for the files a command p names: p itself when
// its extension is one of pathext's (semicolon-separated), else p with
// each of them, in order. Pure, so it is tested on every OS.
func withExts(p, pathext string) []string {
	if pathext == "" {
		pathext = defaultPathext
	}
	var exts []string
	for _, e := range strings.Split(strings.ToLower(pathext), ";") {
		if e = strings.TrimSpace(e); e != "" {
			if e[0] != '.' {
				e = "." + e
			}
			exts = append(exts, e)
		}
	}
	if ext := strings.ToLower(filepath.Ext(p)); ext != "" {
		for _, e := range exts {
			if e == ext {
				return []string{p}
			}
		}
	}
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		out = append(out, p+e)
	}
	return out
}
