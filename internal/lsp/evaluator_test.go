//go:build linux

package lsp

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/sandbox/sandboxtest"
)

// A session keeps an evaluator started ahead (sandbox.Pool) and ends it
// before Run returns.
func TestRun_endsItsEvaluator(t *testing.T) {
	inR, inW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), inR, io.Discard, Options{Socket: filepath.Join(t.TempDir(), "no.sock")})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(evaluators()) == 0 {
		if time.Now().After(deadline) {
			inW.Close()
			<-done
			t.Fatal("no idle evaluator after 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	inW.Close() // the client goes away
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its input ended")
	}
	if left := evaluators(); len(left) > 0 {
		t.Errorf("evaluators %v are alive after Run returned", left)
	}
}

// evaluators lists this process's live children that are evaluators.
func evaluators() []int { return sandboxtest.Children(os.Getpid()) }
