package cli

import "runtime/debug"

// Version returns v, or for a development build ("dev") the VCS revision
// the binary was built from, so that loop notices a loopd built from other
// sources.
func Version(v string) string {
	if v != "dev" {
		return v
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return v
	}
	if dirty {
		rev += "-dirty"
	}
	return v + "+" + rev
}
