// Package secret resolves the secrets a Loopfile declares (model.Secret)
// and redacts their values.
//
// A Resolver belongs to one project: it resolves a secret from the
// environment of `loop up`, a file, a command or Vault KV v2, caches the
// value for the project's life and registers it with the project's
// Redactor, which replaces every occurrence of a value with
// "[redacted:NAME]" in logs, snapshots and events.
package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/loopdev/loop/internal/model"
)

// CmdTimeout bounds a from_cmd command and a Vault read.
const CmdTimeout = 10 * time.Second

// Resolver resolves secrets for one project. It is safe for concurrent use.
type Resolver struct {
	Env      func() []string // the environment of `loop up`
	Redactor *Redactor       // every resolved value is added to it

	mu    sync.Mutex
	cache map[string]string // by Placeholder
}

// NewResolver returns a resolver reading env and registering values with r.
func NewResolver(env func() []string, r *Redactor) *Resolver {
	return &Resolver{Env: env, Redactor: r, cache: map[string]string{}}
}

// Resolve returns the value of s. The error names the secret and its
// source, never a value.
func (r *Resolver) Resolve(ctx context.Context, s model.Secret) (string, error) {
	key := s.Placeholder()
	r.mu.Lock()
	v, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := r.resolve(ctx, s)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", s.Describe(), err)
	}
	r.Redactor.Add(s.Name, v)
	r.mu.Lock()
	r.cache[key] = v
	r.mu.Unlock()
	return v, nil
}

func (r *Resolver) environ() []string {
	if r.Env == nil {
		return os.Environ()
	}
	return r.Env()
}

func lookup(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (r *Resolver) resolve(ctx context.Context, s model.Secret) (string, error) {
	switch s.Source {
	case model.SecretEnv:
		v, ok := lookup(r.environ(), s.Ref)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set: export it before `loop up`", s.Ref)
		}
		return v, nil
	case model.SecretFile:
		p := s.Ref
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("read file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case model.SecretCmd:
		return r.command(ctx, s)
	case model.SecretVault:
		return r.vault(ctx, s)
	}
	return "", fmt.Errorf("unknown source %q", s.Source)
}

func (r *Resolver) command(ctx context.Context, s model.Secret) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", s.Ref)
	cmd.Dir, cmd.Env = s.Dir, r.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("command timed out after %s", CmdTimeout)
		}
		// stderr is not shown: a failing command may still print the value.
		return "", fmt.Errorf("command: %w", err)
	}
	v := strings.TrimSpace(stdout.String())
	if v == "" {
		return "", errors.New("command printed nothing")
	}
	return v, nil
}

func (r *Resolver) vault(ctx context.Context, s model.Secret) (string, error) {
	env := r.environ()
	addr, _ := lookup(env, "VAULT_ADDR")
	token, _ := lookup(env, "VAULT_TOKEN")
	if addr == "" || token == "" {
		return "", errors.New("VAULT_ADDR and VAULT_TOKEN must be set in the environment of `loop up`")
	}
	mount, path, ok := strings.Cut(strings.Trim(s.Ref, "/"), "/data/")
	if !ok || mount == "" || path == "" {
		return "", errors.New(`vault path must be "MOUNT/data/PATH" (KV v2)`)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	cfg.Timeout = CmdTimeout
	c, err := vault.NewClient(cfg)
	if err != nil {
		return "", fmt.Errorf("vault client: %w", err)
	}
	c.SetToken(token)
	ctx, cancel := context.WithTimeout(ctx, CmdTimeout)
	defer cancel()
	kv, err := c.KVv2(mount).Get(ctx, path)
	if err != nil {
		return "", fmt.Errorf("vault read: %w", err)
	}
	raw, ok := kv.Data[s.Key]
	if !ok {
		return "", fmt.Errorf("vault secret has no key %q", s.Key)
	}
	v, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("vault key %q is not a string", s.Key)
	}
	return v, nil
}

// Redact hides the values this resolver has resolved (Redactor.Redact).
func (r *Resolver) Redact(s string) string { return r.Redactor.Redact(s) }
