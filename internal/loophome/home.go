// Package loophome is where loopd keeps its state and what it publishes
// there for its clients: the state root ($LOOP_HOME, else the platform's
// place), the API socket, and the address files of its HTTP listener and
// gateway. It imports nothing heavy: the thin `loop` client and loopd
// both use it, so they agree on every path.
package loophome

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// Dir returns the state root: $LOOP_HOME, else the platform's place for
// it (dirFor).
func Dir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return dirFor(goruntime.GOOS, os.Getenv, home)
}

// dirFor is the state root on goos, given its environment and the user's
// home directory: $LOOP_HOME when set; else on macOS
// ~/Library/Application Support/loop, on Windows %LocalAppData%\loop, and
// elsewhere $XDG_STATE_HOME/loop, else ~/.local/state/loop. It joins with
// goos's separator, so every platform's answer is tested on any one.
func dirFor(goos string, getenv func(string) string, userHome string) string {
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

// Socket is where loopd listens under the state root dir.
func Socket(dir string) string { return filepath.Join(dir, "loopd.sock") }

// MaxSocketPath is the longest path a Unix socket address holds on goos:
// sun_path without its terminating NUL (104 bytes on macOS, 108 on Linux
// and Windows).
func MaxSocketPath(goos string) int {
	switch goos {
	case "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
		return 103
	}
	return 107
}

// GatewayInfo is gateway.json under the state root: where loopd's gateway
// (route()) listens.
type GatewayInfo struct {
	URL  string `json:"url"` // http://127.0.0.1:PORT
	Port int    `json:"port"`
}

// GatewayFile is where loopd writes its gateway's address under dir.
func GatewayFile(dir string) string { return filepath.Join(dir, "gateway.json") }

// ReadGateway reads the address of the gateway of the loopd of dir; an
// error when none runs (or LOOP_GATEWAY_PORT=off).
func ReadGateway(dir string) (GatewayInfo, error) {
	var info GatewayInfo
	b, err := os.ReadFile(GatewayFile(dir))
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		return GatewayInfo{}, fmt.Errorf("read the gateway's address: %w", err)
	}
	return info, nil
}

// HTTPInfo is http.json under the state root (0600): the address of
// loopd's HTTP listener and its bearer token.
type HTTPInfo struct {
	URL   string `json:"url"`   // http://127.0.0.1:PORT
	Token string `json:"token"` // bearer token
}

// HTTPFile is where loopd writes its HTTP listener's address under dir.
func HTTPFile(dir string) string { return filepath.Join(dir, "http.json") }

// ReadHTTP reads the listener's address and token of the loopd of dir.
func ReadHTTP(dir string) (HTTPInfo, error) {
	var hi HTTPInfo
	b, err := os.ReadFile(HTTPFile(dir))
	if err != nil {
		return hi, fmt.Errorf("loopd's HTTP listener: %w (is loopd running?)", err)
	}
	return hi, json.Unmarshal(b, &hi)
}
