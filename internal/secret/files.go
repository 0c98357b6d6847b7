package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File secrets (secret(..., file=NAME)) reach local processes as 0600
// files, one directory per project under a root that belongs to one
// loopd (one state root). They exist only while their project is up: the
// engine removes a resource's files when it stops and the project's when
// it goes down; loopd empties the root when it starts (no project is up
// then) and its reaper sidecar removes it the moment loopd dies, however
// it dies. Where the OS has memory-backed storage (tmpfs on Linux), the
// root is there, so a value never reaches a disk.

// FilesRoot returns the directory that holds the file secrets of the loopd
// whose state root is home, and whether it is memory-backed. Without
// memory-backed storage it is home/secrets.
func FilesRoot(home string) (dir string, inMemory bool) {
	if abs, err := filepath.Abs(home); err == nil {
		home = abs
	}
	sum := sha256.Sum256([]byte(home))
	if d := memoryDir("loop-secrets-" + hex.EncodeToString(sum[:6])); d != "" {
		return d, true
	}
	return filepath.Join(home, "secrets"), false
}

// ResetRoot makes root an empty directory of mode 0700 owned by this user,
// removing whatever an earlier loopd left in it. It refuses a root that
// is not ours (another user's directory or a symlink planted in a shared
// directory such as /dev/shm).
func ResetRoot(root string) error {
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("reset secrets dir %s: %w", root, err)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return fmt.Errorf("reset secrets dir %s: %w", root, err)
	}
	if err := os.Mkdir(root, 0o700); err != nil {
		return fmt.Errorf("reset secrets dir %s: %w", root, err)
	}
	return checkOwned(root)
}

// errNotOwned is returned for a secrets root another user controls.
var errNotOwned = errors.New("not a private directory of this user")
