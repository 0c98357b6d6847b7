// Package userenv computes the environment of the commands loop runs in a
// dev container for its user (loop exec/shell and lifecycle commands), as
// the Dev Containers CLI does: the user's shell environment found by the
// userEnvProbe (a login and/or interactive shell that prints its
// environment), with remoteEnv over it, ${containerEnv:VAR} substituted from
// the container's own environment.
//
// The package is policy only: a runtime driver runs the argv it is given
// (Probe), hands back the output (Parse) and the container's environment
// (Resolve), and passes the result to docker exec.
package userenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The userEnvProbe values of the spec.
const (
	None                  = "none"
	LoginInteractiveShell = "loginInteractiveShell" // the default
	LoginShell            = "loginShell"
	InteractiveShell      = "interactiveShell"
)

// Valid reports whether probe is one of the spec's values.
func Valid(probe string) bool {
	switch probe {
	case None, LoginInteractiveShell, LoginShell, InteractiveShell:
		return true
	}
	return false
}

// Timeout bounds a probe: a profile that waits for input must not hang the
// start (the reference CLI gives up after 10 s too and continues without).
const Timeout = 10 * time.Second

// PatchProfile is run as root once per container before the first probe:
// it makes /etc/profile keep the PATH the container already has instead of
// resetting it (Debian's sets a fixed PATH), exactly as the reference CLI
// patches it, so that a login shell sees the image's PATH. The marker file
// is the reference's too.
const PatchProfile = `marker=/var/devcontainer/.patchEtcProfileMarker
[ -e "$marker" ] && exit 0
mkdir -p /var/devcontainer && : > "$marker" || exit 0
[ -f /etc/profile ] && sed -i -E 's/((^|\s)PATH=)([^\$]*)$/\1${PATH:-\3}/g' /etc/profile
exit 0`

// A Probe is one run of the user's shell that prints its environment
// between two marks.
type Probe struct {
	Argv []string
	Sep  byte // between entries of the output
	mark string
}

// Probes are the commands to try in turn for probe ("none" or "": nil):
// shell (the user's login shell from /etc/passwd, "" = /bin/sh) reads
// /proc/self/environ, then falls back to printenv.
func Probes(probe, shell string) []Probe {
	var flag string
	switch probe {
	case LoginInteractiveShell:
		flag = "-lic"
	case LoginShell:
		flag = "-lc"
	case InteractiveShell:
		flag = "-ic"
	default:
		return nil
	}
	if shell == "" {
		shell = "/bin/sh"
	}
	var out []Probe
	for _, c := range []struct {
		cmd string
		sep byte
	}{{"cat /proc/self/environ", 0}, {"printenv", '\n'}} {
		mark := newMark()
		out = append(out, Probe{
			Argv: []string{shell, flag, "echo -n " + mark + "; " + c.cmd + "; echo -n " + mark},
			Sep:  c.sep,
			mark: mark,
		})
	}
	return out
}

func newMark() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Parse reads a probe's output: the environment between the marks (what a
// profile prints around it is dropped), without PWD. ok is false when the
// marks or the environment are missing: try the next probe.
func (p Probe) Parse(out []byte) (env map[string]string, ok bool) {
	s := string(out)
	i := strings.Index(s, p.mark)
	if i < 0 {
		return nil, false
	}
	s = s[i+len(p.mark):]
	j := strings.Index(s, p.mark)
	if j <= 0 {
		return nil, false
	}
	env = map[string]string{}
	for _, kv := range strings.Split(s[:j], string(p.Sep)) {
		if k, v, found := strings.Cut(kv, "="); found {
			env[k] = v
		}
	}
	delete(env, "PWD")
	return env, true
}

// Resolve is the environment of a user command: probed (nil without a
// probe) with remote over it, each remote value's ${containerEnv:VAR} and
// ${containerEnv:VAR:default} taken from containerEnv (the container's
// KEY=VALUE list, as inspect shows it). Sorted by name.
func Resolve(containerEnv []string, probed, remote map[string]string) []string {
	cenv := map[string]string{}
	for _, kv := range containerEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			cenv[k] = v
		}
	}
	all := maps.Clone(probed)
	if all == nil {
		all = map[string]string{}
	}
	for k, v := range remote {
		all[k] = Substitute(v, cenv)
	}
	out := make([]string, 0, len(all))
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, k+"="+all[k])
	}
	return out
}

var containerEnvRE = regexp.MustCompile(`\$\{containerEnv:([^{}:]*)(?::([^{}]*))?\}`)

// Substitute replaces ${containerEnv:VAR} (and ${containerEnv:VAR:default})
// in s with the container's value: "" (or the default) when unset.
func Substitute(s string, containerEnv map[string]string) string {
	if !strings.Contains(s, "${containerEnv:") {
		return s
	}
	return containerEnvRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := containerEnvRE.FindStringSubmatch(m)
		if v, ok := containerEnv[sub[1]]; ok {
			return v
		}
		return sub[2]
	})
}

// ParseShell is the login shell of user in /etc/passwd ("" when not
// found): user is a name or a uid, optionally ":group".
func ParseShell(passwd []byte, user string) string {
	name, _, _ := strings.Cut(user, ":")
	if name == "" {
		name = "root"
	}
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && (f[0] == name || f[2] == name) {
			return f[6]
		}
	}
	return ""
}

// Error is a probe that found nothing, for the start's log.
func Error(probe string, err error) string {
	return fmt.Sprintf("userEnvProbe %s: %v; lifecycle commands and loop exec run without the user's shell environment", probe, err)
}
