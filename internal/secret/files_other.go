//go:build !linux

package secret

import (
	"fmt"
	"os"
)

// memoryDir: no memory-backed storage is used outside Linux (macOS and
// Windows have no tmpfs by default); file secrets stay under the state
// root, which is private to the user.
func memoryDir(name string) string { return "" }

func checkOwned(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("secrets dir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("secrets dir %s: %w", dir, errNotOwned)
	}
	return nil
}
