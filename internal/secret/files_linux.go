package secret

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// memoryDir returns a path named name on tmpfs: under $XDG_RUNTIME_DIR
// (per user) when that is tmpfs, else under /dev/shm (shared, so the
// name carries the uid), or "" when neither is.
func memoryDir(name string) string {
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) && onTmpfs(x) {
		return filepath.Join(x, name)
	}
	if onTmpfs("/dev/shm") {
		return filepath.Join("/dev/shm", fmt.Sprintf("%s-%d", name, os.Getuid()))
	}
	return ""
}

func onTmpfs(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}

// checkOwned verifies that dir is a real directory (not a symlink) of
// this user with mode 0700.
func checkOwned(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("secrets dir %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("secrets dir %s: %w", dir, errNotOwned)
	}
	return nil
}
