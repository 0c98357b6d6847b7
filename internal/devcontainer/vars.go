package devcontainer

import (
	"crypto/sha256"
	"encoding/base32"
	"path/filepath"
	"regexp"
	"strings"
)

// vars substitutes the spec's ${...} variables in string values.
// ${containerEnv:VAR} and unknown variables are left as they are: the first
// can only be resolved inside the container (the runtime does it for
// remoteEnv), the second is what the spec asks for.
type vars struct {
	localFolder     string            // ${localWorkspaceFolder}
	containerFolder string            // ${containerWorkspaceFolder}; "" until known
	env             map[string]string // Options.Env
	id              string            // ${devcontainerId}
}

var varRE = regexp.MustCompile(`\$\{([^{}]*)\}`)

func (v *vars) expand(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if r, ok := v.lookup(m[2 : len(m)-1]); ok {
			return r
		}
		return m
	})
}

func (v *vars) lookup(name string) (string, bool) {
	switch name {
	case "localWorkspaceFolder":
		return v.localFolder, true
	case "localWorkspaceFolderBasename":
		return filepath.Base(v.localFolder), true
	case "containerWorkspaceFolder":
		return v.containerFolder, v.containerFolder != ""
	case "containerWorkspaceFolderBasename":
		return pathBase(v.containerFolder), v.containerFolder != ""
	case "devcontainerId":
		return v.id, true
	}
	kind, rest, ok := strings.Cut(name, ":")
	if !ok || (kind != "localEnv" && kind != "env") {
		return "", false
	}
	key, def, _ := strings.Cut(rest, ":")
	if val, ok := v.env[key]; ok {
		return val, true
	}
	return def, true // the spec: an unset variable is "" unless a default is given
}

// pathBase is the last element of a container (slash-separated) path.
func pathBase(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// envMap turns KEY=VALUE entries into a map; later entries win.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// devcontainerID is a stable, label-safe id for one project and config file
// (52 lowercase base32 characters, like the Dev Containers CLI's).
func devcontainerID(projectDir, configFile string) string {
	sum := sha256.Sum256([]byte(projectDir + "\x00" + configFile))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	return strings.ToLower(enc.EncodeToString(sum[:]))
}
