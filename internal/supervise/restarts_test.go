package supervise

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestRestarts_WaitSeesTheNextRestart(t *testing.T) {
	var out bytes.Buffer
	r := NewRestarts(&out)
	n := r.Count()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- r.Wait(ctx, n, nil)
	}()
	r.Write([]byte("service output\nloop supervise: restar"))
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before the restart line was complete", err)
	case <-time.After(20 * time.Millisecond):
	}
	r.Write([]byte("ted srv (pid 7)\n"))
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v, want nil after a restart", err)
	}
	if got, want := out.String(), "service output\nloop supervise: restarted srv (pid 7)\n"; got != want {
		t.Errorf("passed through %q, want %q", got, want)
	}
	r.Write([]byte(RestartFailedPrefix + "command not found\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.Wait(ctx, n+1, nil); err == nil || err.Error() != "restart: command not found" {
		t.Errorf("Wait after a failed restart = %v, want the failure", err)
	}
}

func TestRestarts_WaitEndsWhenTheContainerStops(t *testing.T) {
	r := NewRestarts(&bytes.Buffer{})
	stopped := make(chan struct{})
	close(stopped)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Wait(ctx, r.Count(), stopped); err != ErrStopped {
		t.Errorf("Wait with the container stopped = %v, want ErrStopped", err)
	}
}
