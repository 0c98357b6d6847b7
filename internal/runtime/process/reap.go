package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// recordGroup writes the state file for the group led by pgid and returns
// its path.
func recordGroup(dir string, pgid int, spec runtime.Spec) (string, error) {
	st, err := readStat(pgid)
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	boot, err := bootID()
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	b, err := json.Marshal(groupRecord{PGID: pgid, StartTime: st.startTime, BootID: boot, Name: spec.Name, Argv: spec.Argv})
	if err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	path := filepath.Join(dir, strconv.Itoa(pgid)+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("record process group %d: %w", pgid, err)
	}
	return path, nil
}

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
	boot, err := bootID()
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
		if err := reapRecord(path, boot, logger); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("reap orphans: %w", err))
		}
	}
	return errors.Join(errs...)
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
	if err := syscall.Kill(-rec.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("reap orphans: kill process group %d (%s): %w", rec.PGID, rec.Name, err)
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
