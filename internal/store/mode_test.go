//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpen_fileModes: the database, SQLite's -wal and -shm files and their
// directory are the user's alone (0600, 0700), also under a umask of 022
// and when an older loop left them 0644 / 0755.
func TestOpen_fileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, FileName)
	s := open(t, path)
	if _, err := s.RecordShip(context.Background(), Ship{Project: "p", Service: "s", Outcome: OutcomeShipped}); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{home: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
	check := func(when string) {
		t.Helper()
		for p, mode := range want {
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", when, err)
				continue
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("%s: %s is %o, want %o", when, filepath.Base(p), fi.Mode().Perm(), mode)
			}
		}
	}
	check("new store")

	// An older loop's files, while it has the store open: the next Open
	// (another process, or the daemon restarting) tightens them.
	for p, mode := range want {
		if err := os.Chmod(p, mode|0o055); err != nil {
			t.Fatal(err)
		}
	}
	open(t, path)
	check("reopened")
}
