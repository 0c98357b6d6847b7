//go:build unix

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// resizes delivers on the returned channel when the terminal may have
// changed size (SIGWINCH), until stop is called.
func resizes() (c <-chan struct{}, stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	out, quit := make(chan struct{}, 1), make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				select {
				case out <- struct{}{}:
				default: // one pending is enough
				}
			case <-quit:
				return
			}
		}
	}()
	return out, func() { signal.Stop(winch); close(quit) }
}
