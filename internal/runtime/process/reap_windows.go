package process

import (
	"log/slog"

	"github.com/loopdev/loop/internal/runtime"
)

// recordGroup records nothing on Windows: every process runs in a job
// object that the kernel kills when the daemon's handle to it closes,
// however the daemon dies, so no group is ever left for ReapOrphans.
func recordGroup(dir string, pid int, spec runtime.Spec) (string, error) { return "", nil }

// recordReaper: any record found on Windows is stale (left by an older
// loop); ReapOrphans removes it without acting on it.
func recordReaper(*slog.Logger) (func(path string) error, error) {
	return func(string) error { return nil }, nil
}
