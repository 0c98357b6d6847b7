package mcpserver

import (
	"encoding/json"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestRedact_secretReferences(t *testing.T) {
	ph := model.Secret{Name: "db", Source: model.SecretVault, Ref: "kv/data/db", Key: "password"}.Placeholder()
	b, _ := json.Marshal(map[string]string{"PW": ph})
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"PW=" + ph + " rest", "PW=[secret] rest"},
		{string(b), `{"PW":"[secret]"}`},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
