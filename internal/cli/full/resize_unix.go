//go:build unix

package full

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// resizeEvents tells when the terminal may have changed size: SIGWINCH
// on sig (tick is nil), until stop is called.
func resizeEvents() (sig <-chan os.Signal, tick <-chan time.Time, stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	return winch, nil, func() { signal.Stop(winch) }
}
