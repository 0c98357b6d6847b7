package process

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime"
)

// buffer is a goroutine-safe output sink.
type buffer struct{ output.Buffer }

// waitFor polls until b contains s.
func (b *buffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q never contained %q", b.String(), s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitDone(t testing.TB, h runtime.Handle) runtime.Exit {
	t.Helper()
	select {
	case <-h.Done():
		return h.Exit()
	case <-time.After(10 * time.Second):
		t.Fatalf("process %d did not exit", h.Pid())
		return runtime.Exit{}
	}
}

func stop(t *testing.T, h runtime.Handle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Stop returned before the process exited")
	}
}

// readLines sends the lines of r to a channel.
func readLines(r *bufio.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			ch <- strings.TrimSpace(l)
		}
	}()
	return ch
}
