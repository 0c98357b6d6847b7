package daemon

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// Home returns the state root: $LOOP_HOME, else the platform's place for
// it (homeFor).
func Home() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return homeFor(goruntime.GOOS, os.Getenv, home)
}

// homeFor is the state root on goos, given its environment and the user's
// home directory: $LOOP_HOME when set; else on macOS
// ~/Library/Application Support/loop, on Windows %LocalAppData%\loop, and
// elsewhere $XDG_STATE_HOME/loop, else ~/.local/state/loop. It joins with
// goos's separator, so every platform's answer is tested on any one.
func homeFor(goos string, getenv func(string) string, userHome string) string {
	if h := getenv("LOOP_HOME"); h != "" {
		return h
	}
	join := filepath.Join
	if goos != goruntime.GOOS { // another platform's answer, in a test
		sep := "/"
		if goos == "windows" {
			sep = `\`
		}
		join = func(elem ...string) string { return strings.Join(elem, sep) }
	}
	switch goos {
	case "darwin":
		return join(userHome, "Library", "Application Support", "loop")
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return join(d, "loop")
		}
		return join(userHome, "AppData", "Local", "loop")
	}
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return join(x, "loop")
	}
	return join(userHome, ".local", "state", "loop")
}

// maxSocketPath is the longest path a Unix socket address holds on goos:
// sun_path without its terminating NUL (104 bytes on macOS, 108 on Linux
// and Windows).
func maxSocketPath(goos string) int {
	switch goos {
	case "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
		return 103
	}
	return 107
}
