// Package buildinfo is the one home of what a loop binary knows about its
// own build: the version (a release tag, or "dev"), the commit, the commit's
// date and whether the tree had uncommitted changes. Go records the last
// three in every build from a git checkout (runtime/debug.BuildInfo's
// vcs.* settings); a release build sets the version, and may set the
// others for builds without .git, with
//
//	-ldflags "-X github.com/loopdev/loop/internal/buildinfo.version=v0.1.0"
//
// (likewise .commit, .date in RFC 3339, .modified "true"/"false").
// loop and loopd read the same Info, so the version string loopd reports
// in its handshake is the one loop compares against.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set by -ldflags -X; "" takes what the Go toolchain recorded.
var (
	version  string
	commit   string
	date     string
	modified string
)

// Dev is the version of a build that no release set.
const Dev = "dev"

// Info describes one build.
type Info struct {
	Version  string    // a release tag such as "v0.1.0", or Dev
	Commit   string    // the full VCS revision; "" when unknown
	Date     time.Time // the commit's time (UTC); zero when unknown
	Modified bool      // built from a tree with uncommitted changes
	Go       string    // the Go version it was built with
	Platform string    // GOOS/GOARCH it runs on
}

// Read returns this binary's Info: the -X values where set, else the
// VCS settings Go embedded.
func Read() Info {
	var settings []debug.BuildSetting
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		settings, goVersion = bi.Settings, bi.GoVersion
	}
	i := FromSettings(settings)
	i.Go, i.Platform = goVersion, runtime.GOOS+"/"+runtime.GOARCH
	if version != "" {
		i.Version = version
	}
	if commit != "" {
		i.Commit = commit
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		i.Date = t.UTC()
	}
	if modified != "" {
		i.Modified = modified == "true"
	}
	return i
}

// FromSettings reads the vcs.* settings of a debug.BuildInfo into an Info
// of version Dev.
func FromSettings(settings []debug.BuildSetting) Info {
	i := Info{Version: Dev}
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				i.Date = t.UTC()
			}
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// ShortCommit is the first 12 characters of the commit.
func (i Info) ShortCommit() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}

// String is the build's identity, which loopd reports in its handshake and
// loop compares with its own: the release version, or for a development
// build Dev+<short commit>[-dirty], so that loop notices a loopd built from
// other sources. A release built from a modified tree says so too.
func (i Info) String() string {
	v := i.Version
	if v == "" {
		v = Dev
	}
	if v == Dev && i.Commit != "" {
		v += "+" + i.ShortCommit()
	}
	if i.Modified && i.Commit != "" {
		v += "-dirty"
	}
	return v
}

// Long is one line for `loop version` and loopd's log: the identity, then
// commit, date and modified state, as far as they are known, then Go and
// the platform; extra parts (such as "API 1") go before Go. name is the
// program ("loop", "loopd").
//
//	loop v0.1.0 (commit 0123456789ab, 2026-12-06T10:00:00Z; API 1; go1.26.8 linux/amd64)
func (i Info) Long(name string, extra ...string) string {
	var parts []string
	if i.Commit != "" {
		c := "commit " + i.ShortCommit()
		if !i.Date.IsZero() {
			c += ", " + i.Date.Format(time.RFC3339)
		}
		if i.Modified {
			c += ", modified"
		}
		parts = append(parts, c)
	} else {
		parts = append(parts, "commit unknown")
	}
	parts = append(parts, extra...)
	tail := strings.TrimSpace(i.Go + " " + i.Platform)
	if tail != "" {
		parts = append(parts, tail)
	}
	return fmt.Sprintf("%s %s (%s)", name, i, strings.Join(parts, "; "))
}
