package telemetry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// IdentityFile is the installation's identity under LOOP_HOME, written
// the first time the export is on.
const IdentityFile = "telemetry.json"

// Identity is an installation's anonymous identity: ID is sent (as
// service.instance.id), Salt never is; it keys the hashes of names.
type Identity struct {
	ID   string `json:"installation_id"`
	Salt string `json:"salt"`
}

// LoadIdentity reads home's identity, creating it (random, 0600) when
// missing or unreadable.
func LoadIdentity(home string) (Identity, error) {
	path := filepath.Join(home, IdentityFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var id Identity
		if json.Unmarshal(b, &id) == nil && len(id.ID) == 32 && len(id.Salt) == 64 {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Identity{}, fmt.Errorf("read installation id: %w", err)
	}
	id := Identity{ID: random(16), Salt: random(32)}
	b, _ = json.MarshalIndent(id, "", "  ")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return Identity{}, fmt.Errorf("write installation id: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return Identity{}, fmt.Errorf("write installation id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Identity{}, fmt.Errorf("write installation id: %w", err)
	}
	return id, nil
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hashLen is how many hex digits of a name's hash are sent: 12 (48 bits)
// tell a team's projects apart without naming them.
const hashLen = 12

// Hash is name's salted SHA-256, truncated: the same name gives the same
// value on one installation and an unrelated one on another, and without
// the salt (never sent) a guessed name cannot be checked.
func (id Identity) Hash(name string) string {
	if name == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id.Salt + "\x00" + name))
	return hex.EncodeToString(sum[:])[:hashLen]
}
