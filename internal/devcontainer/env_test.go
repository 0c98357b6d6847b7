package devcontainer

import (
	"context"
	"errors"
	"reflect"
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
		_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
		var e *Error
		if !errors.As(err, &e) || e.Line != 3 || e.Col != 31 || !strings.HasSuffix(e.File, "devcontainer-feature.json") || !strings.Contains(e.Msg, tt.want) {
			t.Errorf("%q: got %v, want an error at devcontainer-feature.json:3:31 containing %q", tt.name, err, tt.want)
		}
	}
}

// TestLoad_containerEnvAndRunArgs: containerEnv and runArgs' -e merge
// whatever the order of the keys; on a clash runArgs win, as with the Dev
// Containers CLI, which passes containerEnv to docker run before runArgs.
func TestLoad_containerEnvAndRunArgs(t *testing.T) {
	want := map[string]string{"A": "container", "B": "run", "C": "run", "D": "container"}
	for _, tt := range []struct{ name, json string }{
		{"containerEnv first", `{"image": "x", "containerEnv": {"A": "container", "B": "container", "D": "container"}, "runArgs": ["-e", "B=run", "--env=C=run"]}`},
		{"runArgs first", `{"image": "x", "runArgs": ["-e", "B=run", "--env=C=run"], "containerEnv": {"A": "container", "B": "container", "D": "container"}}`},
	} {
		dir := newProject(t, map[string]string{".devcontainer.json": tt.json})
		res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(res.Env, want) {
			t.Errorf("%s: Env: got %v, want %v", tt.name, res.Env, want)
		}
	}
}

func TestLoad_userEnvProbe(t *testing.T) {
	for _, tt := range []struct{ json, want, err string }{
		{`{"image": "x"}`, "loginInteractiveShell", ""},
		{`{"image": "x", "userEnvProbe": "none"}`, "none", ""},
		{`{"image": "x", "userEnvProbe": "loginShell"}`, "loginShell", ""},
		{`{"image": "x", "userEnvProbe": "bash"}`, "", `userEnvProbe "bash" is not a probe`},
	} {
		dir := newProject(t, map[string]string{".devcontainer.json": tt.json})
		res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: got %v, want an error containing %q", tt.json, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		if got := res.Container.UserEnvProbe; got != tt.want {
			t.Errorf("%s: UserEnvProbe: got %q, want %q", tt.json, got, tt.want)
		}
		if len(res.Warnings) != 0 {
			t.Errorf("%s: Warnings: got %q, want none", tt.json, res.Warnings)
		}
	}
}
