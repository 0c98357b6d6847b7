package devcontainer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoad_featureEnvName: a local Feature's containerEnv goes into a
// generated Dockerfile's ENV: a name with "=" or white space is an error
// at the name in devcontainer-feature.json, not a broken Dockerfile.
func TestLoad_featureEnvName(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"A B", `name "A B" contains white space`},
		{"A\\nRUN x", `name "A\nRUN x" contains white space`},
		{"K=V", `name "K=V" contains "="`},
	} {
		dir := newProject(t, map[string]string{
			".devcontainer/devcontainer.json":           `{"image": "debian:12", "features": {"./f": {}}}`,
			".devcontainer/f/devcontainer-feature.json": "{\n  \"id\": \"f\",\n  \"containerEnv\": {\"OK\": \"1\", \"" + tt.name + "\": \"x\"}\n}\n",
			".devcontainer/f/install.sh":                "#!/bin/sh\n",
		})
		_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev", StateDir: filepath.Join(dir, ".state")})
		var e *Error
		if !errors.As(err, &e) || e.Line != 3 || e.Col != 31 || !strings.HasSuffix(e.File, "devcontainer-feature.json") || !strings.Contains(e.Msg, tt.want) {
			t.Errorf("%q: got %v, want an error at devcontainer-feature.json:3:31 containing %q", tt.name, err, tt.want)
		}
	}
}
