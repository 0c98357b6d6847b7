package sync

import "io/fs"

// localMode is the mode a host entry is synced with. Windows has no Unix
// permissions (Go reports 0666 for a file, 0444 read-only, 0777 for a
// directory): as docker cp from Windows does, group and world write are
// dropped and everything is executable, 0755 (0555 read-only), so that
// scripts still run in the container.
func localMode(m fs.FileMode) fs.FileMode { return m&^0o022 | 0o111 }
