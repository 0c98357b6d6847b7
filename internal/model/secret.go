package model

import (
	"encoding/json"
	"strings"
)

// Secret is a value resolved when resources start (never written to the
// Loopfile's model as plain text): from the environment, a file, a command
// or Vault KV v2. The model holds only where the value comes from.
//
// A secret used as an env value is stored in the resource's Env as a
// placeholder (Placeholder): the engine finds placeholders with
// ParseSecretPlaceholder and resolves them when the resource starts.
type Secret struct {
	Name   string       `json:"name"`
	Source SecretSource `json:"source"`
	Ref    string       `json:"ref"`            // env var name, file path, shell command or Vault KV v2 path
	Key    string       `json:"key,omitempty"`  // field of the Vault secret
	Dir    string       `json:"dir,omitempty"`  // the Loopfile's directory: relative files and commands
	File   string       `json:"file,omitempty"` // plain file name: the value is written to a file whose path is the env value
	Pos    Position     `json:"-"`
}

// SecretSource says where a secret's value comes from.
type SecretSource string

// Secret sources.
const (
	SecretEnv   SecretSource = "env"
	SecretFile  SecretSource = "file"
	SecretCmd   SecretSource = "cmd"
	SecretVault SecretSource = "vault"
)

const (
	secretPrefix = "\x00loop-secret:"
	secretSuffix = "\x00"
)

// Describe names the secret and its source, never its value, for errors.
func (s Secret) Describe() string {
	src := string(s.Source) + " " + s.Ref
	if s.Source == SecretVault && s.Key != "" {
		src += " key " + s.Key
	}
	return "secret " + s.Name + " (from " + src + ")"
}

// Placeholder is the env value that stands for s in the model.
func (s Secret) Placeholder() string {
	b, _ := json.Marshal(s)
	return secretPrefix + string(b) + secretSuffix
}

// ParseSecretPlaceholder returns the secret an env value stands for, or
// false if v is a plain value.
func ParseSecretPlaceholder(v string) (Secret, bool) {
	if !strings.HasPrefix(v, secretPrefix) || !strings.HasSuffix(v, secretSuffix) {
		return Secret{}, false
	}
	var s Secret
	if err := json.Unmarshal([]byte(v[len(secretPrefix):len(v)-len(secretSuffix)]), &s); err != nil {
		return Secret{}, false
	}
	return s, true
}
