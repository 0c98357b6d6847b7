//go:build linux

package containerd

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

// followSize keeps the terminal of proc (an exec with a TTY) the size of
// out's while it runs, when out is a terminal (`loop exec` from a
// terminal): now, and on every SIGWINCH until the returned stop is called.
// For any other writer it does nothing.
func followSize(ctx context.Context, proc client.Process, out io.Writer) (stop func()) {
	f, ok := out.(*os.File)
	if !ok {
		return func() {}
	}
	resize := func() bool {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err != nil {
			return false
		}
		proc.Resize(ctx, uint32(ws.Col), uint32(ws.Row))
		return true
	}
	if !resize() {
		return func() {}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-winch:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		<-exited
	}
}
