//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockHome takes loopd's exclusive lock on home (an flock on loopd.lock),
// before anything that assumes this is the only daemon of home — reaping
// the process groups a crashed daemon left, emptying the secrets dir —
// so a second loopd started by mistake (or by two racing `loop up`s)
// fails with ErrRunning instead of killing the first one's services. The
// kernel releases the lock when the process dies, however it dies.
func lockHome(home string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(home, "loopd.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w for %s (it holds %s)", ErrRunning, home, f.Name())
		}
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	return func() { f.Close() }, nil
}
