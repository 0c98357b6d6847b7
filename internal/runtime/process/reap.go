package process

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// ReapOrphans kills the process groups recorded in stateDir: those a
// previous daemon started and could not stop because it was killed. Call it
// when the daemon starts, before starting anything with the same StateDir.
//
// A record is only acted on if its group still exists and is the same
// group: the leader, if still there, has the recorded start time; if the
// leader is gone, a live member started no earlier than it. (A pgid cannot
// be handed to a new process while its group has members, so a leader pid
// with another start time means the group is gone.) Records from an earlier
// boot are dropped. Every record is removed.
//
// Windows records nothing (a job object killed with the daemon leaves no
// orphans): there ReapOrphans only removes stale files.
func ReapOrphans(stateDir string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	ents, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reap orphans: %w", err)
	}
	reap, err := recordReaper(logger)
	if err != nil {
		return fmt.Errorf("reap orphans: %w", err)
	}
	var errs []error
	for _, e := range ents {
		path := filepath.Join(stateDir, e.Name())
		if strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(path)
			continue
		}
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if err := reap(path); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("reap orphans: %w", err))
		}
	}
	return errors.Join(errs...)
}
