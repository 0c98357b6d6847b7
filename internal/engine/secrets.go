// secret() values at start: resolved through the SecretResolvers, file
// secrets written under LOOP_HOME (or handed to a container runtime), and
// removed with their resource.

package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// SecretResolver resolves a secret() env value (model.Secret) when a
// resource starts. Its error names the secret and source, never the value.
type SecretResolver interface {
	Resolve(ctx context.Context, s model.Secret) (string, error)
}

// containerSecrets is where file secrets land in a container.
const containerSecrets = "/run/secrets/"

// resolveEnv returns r's env with secret placeholders replaced by their
// values. It may run a command or ask Vault (bounded by the resolver);
// resolvers cache values, so restarts do not wait again. File secrets
// (secret(..., file=)) put a path in the env: a process's secret is
// written to a 0600 file under LOOP_HOME; a container's is returned in
// files, for the runtime to write into the container.
func (e *Engine) resolveEnv(r *res) (env, files map[string]string, err error) {
	var out map[string]string
	for k, v := range r.spec.Env {
		s, ok := model.ParseSecretPlaceholder(v)
		if !ok {
			continue
		}
		if e.cfg.Secrets == nil {
			return nil, nil, fmt.Errorf("env %s: secret %s: secrets are not available here", k, s.Name)
		}
		val, err := e.cfg.Secrets.Resolve(context.Background(), s)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", k, err)
		}
		switch {
		case s.File != "" && r.spec.Kind == model.KindContainer:
			if files == nil {
				files = map[string]string{}
			}
			path := containerSecrets + s.File
			files[path], val = val, path
		case s.File != "":
			if val, err = e.writeSecretFile(r, s, val); err != nil {
				return nil, nil, fmt.Errorf("env %s: secret %s: %w", k, s.Name, err)
			}
		}
		if out == nil {
			out = maps.Clone(r.spec.Env)
		}
		out[k] = val
	}
	if out == nil {
		return r.spec.Env, files, nil
	}
	return out, files, nil
}

// writeSecretFile writes val to <SecretsDir>/<resource>/<s.File> (dir
// 0700, file 0600, rewritten at each start) and returns the file's path.
func (e *Engine) writeSecretFile(r *res, s model.Secret, val string) (string, error) {
	root := e.cfg.SecretsDir
	if root == "" {
		return "", fmt.Errorf("file secrets need loopd's secrets directory")
	}
	if s.File != filepath.Base(s.File) || s.File == "." || s.File == ".." || strings.Contains(s.File, "..") {
		return "", fmt.Errorf("invalid file name %q", s.File)
	}
	dir := filepath.Join(root, r.spec.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	p := filepath.Join(dir, s.File)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(val)
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Close()); err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	return p, nil
}

// removeSecretFiles removes the file secrets of resource name ("" : all).
func (e *Engine) removeSecretFiles(name string) {
	root := e.cfg.SecretsDir
	if root == "" {
		return
	}
	if name != "" {
		root = filepath.Join(root, name)
	}
	os.RemoveAll(root)
}
