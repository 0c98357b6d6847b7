package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// fakeSecrets resolves from a map; a missing name is an error.
type fakeSecrets map[string]string

var _ SecretResolver = fakeSecrets(nil)

func (f fakeSecrets) Resolve(_ context.Context, s model.Secret) (string, error) {
	v, ok := f[s.Name]
	if !ok {
		return "", errors.New("resolve " + s.Describe() + ": not set")
	}
	return v, nil
}

func TestEngine_resolveEnv(t *testing.T) {
	tok := model.Secret{Name: "tok", Source: model.SecretEnv, Ref: "TOK"}
	spec := &model.Resource{Name: "api", Env: map[string]string{"A": "plain", "T": tok.Placeholder()}}
	e := &Engine{cfg: Config{Secrets: fakeSecrets{"tok": "value-1234"}, BaseEnv: []string{"T=base", "B=1"}}}
	r := &res{spec: spec}
	got, _, err := e.resolveEnv(r)
	if err != nil {
		t.Fatal(err)
	}
	if got["T"] != "value-1234" || got["A"] != "plain" {
		t.Errorf("got %v, want T resolved and A kept", got)
	}
	if spec.Env["T"] != tok.Placeholder() {
		t.Errorf("the model's env was changed: %q", spec.Env["T"])
	}
	if env := strings.Join(e.env(r, got), " "); !strings.Contains(env, "T=value-1234") || strings.Contains(env, "T=base") {
		t.Errorf("env = %s, want T=value-1234 over the base", env)
	}

	e.cfg.Secrets = fakeSecrets{}
	if _, _, err := e.resolveEnv(r); err == nil || !strings.Contains(err.Error(), "env T: resolve secret tok (from env TOK)") {
		t.Errorf("got error %v, want one naming the env var and the secret", err)
	}
	e.cfg.Secrets = nil
	if _, _, err := e.resolveEnv(r); err == nil {
		t.Error("no resolver: got no error")
	}
	plain := &res{spec: &model.Resource{Env: map[string]string{"A": "x"}}}
	if got, _, err := e.resolveEnv(plain); err != nil || got["A"] != "x" {
		t.Errorf("plain env: got %v, %v", got, err)
	}
}

func TestEngine_resolveEnv_file(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets", "app")
	db := model.Secret{Name: "db", Source: model.SecretEnv, Ref: "DB_PW", File: "db_password"}
	spec := &model.Resource{Name: "api", Kind: model.KindService, Env: map[string]string{"DB_PASSWORD_FILE": db.Placeholder()}}
	e := &Engine{cfg: Config{Secrets: fakeSecrets{"db": "hunter2-pw"}, SecretsDir: dir}}
	r := &res{spec: spec}
	got, _, err := e.resolveEnv(r)
	if err != nil {
		t.Fatal(err)
	}
	p := got["DB_PASSWORD_FILE"]
	if p != filepath.Join(dir, "api", "db_password") {
		t.Fatalf("DB_PASSWORD_FILE = %q, want a path under the project's secrets dir", p)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "hunter2-pw" {
		t.Fatalf("file content %q, %v; want the value", b, err)
	}
	for path, want := range map[string]os.FileMode{p: 0o600, filepath.Dir(p): 0o700} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	// Rewritten at each start.
	e.cfg.Secrets = fakeSecrets{"db": "second-value"}
	if _, _, err := e.resolveEnv(r); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "second-value" {
		t.Errorf("rewritten content %q", b)
	}
	e.removeSecretFiles("api")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("file not removed: %v", err)
	}

	// A container's file secret goes to /run/secrets through the runtime:
	// the env holds the path, the value is only in files.
	c := &res{spec: &model.Resource{Name: "c", Kind: model.KindContainer, Env: spec.Env}}
	env, files, err := e.resolveEnv(c)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if strings.HasPrefix(v, "/run/secrets/") {
			if files[v] != "second-value" {
				t.Errorf("container: env %s=%s, files %v; want the value in files at that path", k, v, files)
			}
			return
		}
	}
	t.Errorf("container: env %v has no /run/secrets path", env)
}
