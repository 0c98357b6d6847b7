package secret

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/model"
)

func TestResolver_Resolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("file-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vault := fakeVault(t, "root-token", map[string]map[string]any{
		"/v1/kv/data/app/db": {"password": "vault-pass-123", "n": 5},
	})
	env := []string{"API_TOKEN=env-secret-value", "VAULT_ADDR=" + vault.URL, "VAULT_TOKEN=root-token"}
	tests := []struct {
		name string
		s    model.Secret
		want string
	}{
		{"env", model.Secret{Name: "a", Source: model.SecretEnv, Ref: "API_TOKEN"}, "env-secret-value"},
		{"file", model.Secret{Name: "b", Source: model.SecretFile, Ref: "token.txt", Dir: dir}, "file-secret-value"},
		{"cmd", model.Secret{Name: "c", Source: model.SecretCmd, Ref: "echo '  cmd-secret-value  '; echo", Dir: dir}, "cmd-secret-value"},
		{"cmd env", model.Secret{Name: "c2", Source: model.SecretCmd, Ref: `printf %s "$API_TOKEN"`, Dir: dir}, "env-secret-value"},
		{"vault", model.Secret{Name: "d", Source: model.SecretVault, Ref: "kv/data/app/db", Key: "password"}, "vault-pass-123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := &Redactor{}
			r := NewResolver(func() []string { return env }, red)
			got, err := r.Resolve(context.Background(), tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got, want := red.Redact("x "+tt.want+" y"), "x [redacted:"+tt.s.Name+"] y"; got != want {
				t.Errorf("redacted: got %q, want %q", got, want)
			}
		})
	}
}

func TestResolver_ResolveErrors(t *testing.T) {
	dir := t.TempDir()
	vault := fakeVault(t, "root-token", map[string]map[string]any{"/v1/kv/data/app": {"n": 5}})
	env := []string{"VAULT_ADDR=" + vault.URL, "VAULT_TOKEN=root-token"}
	tests := []struct {
		name string
		s    model.Secret
		want string // in the error
	}{
		{"env unset", model.Secret{Name: "a", Source: model.SecretEnv, Ref: "NOPE"}, "secret a (from env NOPE): environment variable NOPE is not set"},
		{"file missing", model.Secret{Name: "b", Source: model.SecretFile, Ref: filepath.Join(dir, "nope")}, "secret b (from file"},
		{"cmd fails", model.Secret{Name: "c", Source: model.SecretCmd, Ref: "echo leaked-value; exit 3", Dir: dir}, "secret c (from cmd echo leaked-value; exit 3): command: exit status 3"},
		{"cmd empty", model.Secret{Name: "c", Source: model.SecretCmd, Ref: "true", Dir: dir}, "printed nothing"},
		{"vault no key", model.Secret{Name: "d", Source: model.SecretVault, Ref: "kv/data/app", Key: "password"}, `has no key "password"`},
		{"vault not string", model.Secret{Name: "d", Source: model.SecretVault, Ref: "kv/data/app", Key: "n"}, "not a string"},
		{"vault missing", model.Secret{Name: "d", Source: model.SecretVault, Ref: "kv/data/other", Key: "n"}, "secret d (from vault kv/data/other key n): vault read"},
		{"vault bad path", model.Secret{Name: "d", Source: model.SecretVault, Ref: "kv/app", Key: "n"}, "MOUNT/data/PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResolver(func() []string { return env }, &Redactor{})
			_, err := r.Resolve(context.Background(), tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	r := NewResolver(func() []string { return nil }, &Redactor{})
	_, err := r.Resolve(context.Background(), model.Secret{Name: "v", Source: model.SecretVault, Ref: "kv/data/x", Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "VAULT_ADDR and VAULT_TOKEN") {
		t.Errorf("got %v, want a VAULT_ADDR error", err)
	}
}

func TestResolver_caches(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	r := NewResolver(nil, &Redactor{})
	s := model.Secret{Name: "c", Source: model.SecretCmd, Ref: "echo x >> count; echo value-1234", Dir: dir}
	for range 3 {
		if _, err := r.Resolve(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(count)
	if got := strings.Count(string(b), "x"); got != 1 {
		t.Errorf("command ran %d times, want 1", got)
	}
}

// fakeVault serves KV v2 reads: GET /v1/<mount>/data/<path>.
func fakeVault(t *testing.T, token string, data map[string]map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != token {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
			return
		}
		d, ok := data[r.URL.Path]
		if r.Method != http.MethodGet || !ok {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[]}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"data": map[string]any{"data": d, "metadata": map[string]any{"version": 1, "created_time": "2024-01-01T00:00:00Z"}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRedactor_Redact(t *testing.T) {
	r := &Redactor{}
	r.Add("short", "abc")
	r.Add("token", "s3cr3t-token")
	r.Add("long", "s3cr3t-token-and-more")
	r.Add("quote", `pa"ss\word`)
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"abc is short", "abc is short"},
		{"token=s3cr3t-token;", "token=[redacted:token];"},
		{"a s3cr3t-token b s3cr3t-token", "a [redacted:token] b [redacted:token]"},
		{"s3cr3t-token-and-more", "[redacted:long]"},
		{"both s3cr3t-tokens3cr3t-token-and-more", "both [redacted:token][redacted:long]"},
		{`json "pa\"ss\\word"`, `json "[redacted:quote]"`},
		{`raw pa"ss\word`, `raw [redacted:quote]`},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactJSON(t *testing.T) {
	type ev struct {
		Reason string
		N      int
	}
	r := &Redactor{}
	if got := RedactJSON(r, ev{"x", 1}); got != (ev{"x", 1}) {
		t.Errorf("empty redactor changed %v", got)
	}
	r.Add("pw", `se"cret-1`)
	got := RedactJSON(r, &ev{`exit: se"cret-1 rejected`, 2})
	if want := (ev{"exit: [redacted:pw] rejected", 2}); *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
}

var _ engine.SecretResolver = (*Resolver)(nil)
