//go:build linux

package lsp

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/sandbox"
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
func evaluators() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), sandbox.Arg) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}
