package engine

import (
	"context"
	"errors"
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
	got, err := e.resolveEnv(r)
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
	if _, err := e.resolveEnv(r); err == nil || !strings.Contains(err.Error(), "env T: resolve secret tok (from env TOK)") {
		t.Errorf("got error %v, want one naming the env var and the secret", err)
	}
	e.cfg.Secrets = nil
	if _, err := e.resolveEnv(r); err == nil {
		t.Error("no resolver: got no error")
	}
	plain := &res{spec: &model.Resource{Env: map[string]string{"A": "x"}}}
	if got, err := e.resolveEnv(plain); err != nil || got["A"] != "x" {
		t.Errorf("plain env: got %v, %v", got, err)
	}
}
