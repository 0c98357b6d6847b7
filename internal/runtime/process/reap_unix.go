//go:build unix

package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/runtime"
)

// groupRecord is the state file of one started process group.
type groupRecord struct {
	PGID      int      `json:"pgid"`
	StartTime uint64   `json:"start_time"` // the leader's procStat.startTime
	BootID    string   `json:"boot_id"`
	Name      string   `json:"name"`
	Argv      []string `json:"argv"`
}

// thisBoot is bootID, read once: it does not change while loop runs.
var thisBoot = sync.OnceValues(bootID)

// recordGroup writes the state file for the group led by pgid and returns
// its path.
func recordGroup(dir string, pgid int, spec runtime.Spec) (string, error) {
	st, err := readStat(pgid)
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	boot, err := thisBoot()
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	b, err := json.Marshal(groupRecord{PGID: pgid, StartTime: st.startTime, BootID: boot, Name: spec.Name, Argv: spec.Argv})
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	path := filepath.Join(dir, strconv.Itoa(pgid)+".json")
	tmp := path + ".tmp"
	// Every start is on a restart's path: the directory is made only
	// when the write finds it missing (the first time, or removed since).
	err = os.WriteFile(tmp, b, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			err = os.WriteFile(tmp, b, 0o600)
		}
	}
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	return path, nil
}

// recordReaper returns what ReapOrphans does with each record: kill its
// group if it still is the one recorded, in this boot.
func recordReaper(logger *slog.Logger) (func(path string) error, error) {
	boot, err := bootID()
	if err != nil {
		return nil, err
	}
	return func(path string) error { return reapRecord(path, boot, logger) }, nil
}

func reapRecord(path, boot string, logger *slog.Logger) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reap orphans: %w", err)
	}
	var rec groupRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.PGID <= 1 {
		logger.Warn("reap orphans: ignoring unreadable record", "file", path, "err", err)
		return nil
	}
	if rec.BootID != boot || !ownsGroup(rec) {
		return nil
	}
	log := logger.With("resource", rec.Name, "pgid", rec.PGID, "argv", rec.Argv)
	if err := (&group{pgid: rec.PGID}).signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("reap orphans: %s: %w", rec.Name, err)
	}
	deadline := time.Now().Add(killWait)
	for groupAlive(rec.PGID) {
		if time.Now().After(deadline) {
			return fmt.Errorf("reap orphans: process group %d (%s) still alive %s after SIGKILL", rec.PGID, rec.Name, killWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	log.Info("killed orphaned process group left by a previous daemon")
	return nil
}

// ownsGroup reports whether rec's group still exists and is the one that
// was recorded.
func ownsGroup(rec groupRecord) bool {
	if st, err := readStat(rec.PGID); err == nil {
		return st.startTime == rec.StartTime && groupAlive(rec.PGID)
	}
	members, err := groupMembers(rec.PGID)
	if err != nil {
		return false
	}
	for _, m := range members {
		if m.state != 'Z' && m.startTime >= rec.StartTime {
			return true
		}
	}
	return false
}
