//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/runtime"
)

var testEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"}

func start(t testing.TB, r *Runtime, spec runtime.Spec) runtime.Handle {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "test"
	}
	if spec.Env == nil {
		spec.Env = testEnv
	}
	h, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Stop(ctx)
	})
	return h
}

// assertGroupGone checks that no live process is left in group pgid. A
// zombie may remain when PID 1 does not reap orphans (as in some sandboxes).
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	err := syscall.Kill(-pgid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return
	}
	members, _ := groupMembers(pgid)
	for _, m := range members {
		if m.state != 'Z' {
			t.Fatalf("process %d of group %d still alive (state %c)", m.pid, pgid, m.state)
		}
	}
}

func TestRuntime_Start_exit(t *testing.T) {
	tests := []struct {
		script string
		want   runtime.Exit
	}{
		{"exit 0", runtime.Exit{Code: 0}},
		{"exit 3", runtime.Exit{Code: 3}},
		{"kill -KILL $$", runtime.Exit{Code: -1, Signal: "SIGKILL"}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			h := start(t, &Runtime{}, runtime.Spec{Argv: []string{"sh", "-c", tt.script}})
			if got := waitDone(t, h); got != tt.want {
				t.Errorf("Exit() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRuntime_Start_envDirOutput(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:   []string{"sh", "-c", `echo "foo=$FOO"; pwd; echo oops >&2; printf partial`},
		Dir:    dir,
		Env:    append(testEnv, "FOO=bar"),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if exit := waitDone(t, h); !exit.Success() {
		t.Fatalf("exit = %v", exit)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got, want := stdout.String(), "foo=bar\n"+real+"\npartial"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "oops\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestRuntime_Start_sameWriter(t *testing.T) {
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:   []string{"sh", "-c", "echo a; echo b >&2; echo c"},
		Stdout: &out, Stderr: &out,
	})
	waitDone(t, h)
	if got, want := out.String(), "a\nb\nc\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestRuntime_Start_lookPathUsesSpecEnv(t *testing.T) {
	bin := t.TempDir()
	script := filepath.Join(bin, "loop-test-tool")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho tool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:   []string{"loop-test-tool"},
		Env:    []string{"PATH=" + bin + ":/usr/bin:/bin"},
		Stdout: &out,
	})
	waitDone(t, h)
	if got, want := out.String(), "tool ran\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestRuntime_Start_errors(t *testing.T) {
	tests := []struct {
		name string
		spec runtime.Spec
		want string
		is   error
	}{
		{
			name: "not in PATH",
			spec: runtime.Spec{Name: "web", Argv: []string{"loop-no-such-cmd"}, Env: []string{"PATH=/nonexistent:/bin"}},
			want: `start web: command "loop-no-such-cmd" not found in PATH (PATH=/nonexistent:/bin)`,
			is:   exec.ErrNotFound,
		},
		{
			name: "daemon PATH not used",
			spec: runtime.Spec{Name: "web", Argv: []string{"sh"}, Env: []string{"PATH=/nonexistent"}},
			want: `start web: command "sh" not found in PATH (PATH=/nonexistent)`,
			is:   exec.ErrNotFound,
		},
		{
			name: "relative path",
			spec: runtime.Spec{Name: "web", Argv: []string{"./run.sh"}, Dir: "/", Env: testEnv},
			want: `start web: command "./run.sh" not found or not executable`,
			is:   exec.ErrNotFound,
		},
		{
			name: "missing dir",
			spec: runtime.Spec{Name: "api", Argv: []string{"true"}, Dir: "/nonexistent/dir", Env: testEnv},
			want: `start api: working directory "/nonexistent/dir" does not exist`,
			is:   os.ErrNotExist,
		},
		{
			name: "empty argv",
			spec: runtime.Spec{Name: "api", Env: testEnv},
			want: "start api: empty command",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := (&Runtime{}).Start(context.Background(), tt.spec)
			if err == nil {
				h.Stop(context.Background())
				t.Fatal("Start succeeded, want error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestHandle_Stop_killsAfterTimeout(t *testing.T) {
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:        []string{"sh", "-c", `trap "" TERM; echo ready; sleep 100`},
		Stdout:      &out,
		StopTimeout: 200 * time.Millisecond,
	})
	out.waitFor(t, "ready")
	began := time.Now()
	stop(t, h)
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Errorf("Stop took %v, want at least the 200ms stop timeout", took)
	}
	if got, want := h.Exit(), (runtime.Exit{Code: -1, Signal: "SIGKILL"}); got != want {
		t.Errorf("Exit() = %+v, want %+v", got, want)
	}
	assertGroupGone(t, h.Pid())
}

func TestHandle_Stop_killsGrandchildren(t *testing.T) {
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:   []string{"sh", "-c", "sleep 100 & echo ready; sleep 100"},
		Stdout: &out,
	})
	out.waitFor(t, "ready")
	if !groupAlive(h.Pid()) {
		t.Fatal("group not alive before Stop")
	}
	stop(t, h)
	if got := h.Exit().Signal; got != "SIGTERM" {
		t.Errorf("Exit().Signal = %q, want SIGTERM", got)
	}
	assertGroupGone(t, h.Pid())
}

func TestHandle_Stop_stopSignal(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv: []string{"sh", "-c", fmt.Sprintf(
			`trap 'echo INT > %s; exit 0' INT; trap 'exit 9' TERM; echo ready; while :; do sleep 0.05; done`, marker)},
		Stdout:      &out,
		StopSignal:  syscall.SIGINT,
		StopTimeout: 10 * time.Second,
	})
	out.waitFor(t, "ready")
	stop(t, h)
	if got := h.Exit(); !got.Success() {
		t.Errorf("Exit() = %v, want exited 0 (the INT trap)", got)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "INT\n" {
		t.Errorf("marker = %q, %v; want INT", b, err)
	}
}

func TestHandle_Stop_afterExitKillsLeftovers(t *testing.T) {
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:   []string{"sh", "-c", "sleep 100 & echo $!"},
		Stdout: &out,
	})
	if exit := waitDone(t, h); !exit.Success() {
		t.Fatalf("exit = %v", exit)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", out.String(), err)
	}
	if st, err := readStat(pid); err != nil || st.state == 'Z' {
		t.Fatalf("grandchild %d not running before Stop: %v", pid, err)
	}
	stop(t, h)
	assertGroupGone(t, h.Pid())
}

func TestHandle_Stop_idempotent(t *testing.T) {
	h := start(t, &Runtime{}, runtime.Spec{Argv: []string{"sleep", "100"}})
	stop(t, h)
	stop(t, h)
	if got := h.Exit().Signal; got != "SIGTERM" {
		t.Errorf("Exit().Signal = %q, want SIGTERM", got)
	}
}

func TestHandle_Stop_ctxEscalates(t *testing.T) {
	var out buffer
	h := start(t, &Runtime{}, runtime.Spec{
		Argv:        []string{"sh", "-c", `trap "" TERM; echo ready; sleep 100`},
		Stdout:      &out,
		StopTimeout: time.Hour,
	})
	out.waitFor(t, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := h.Exit().Signal; got != "SIGKILL" {
		t.Errorf("Exit().Signal = %q, want SIGKILL", got)
	}
}

func BenchmarkRuntime_StartStop(b *testing.B) {
	r := &Runtime{StateDir: b.TempDir()}
	ctx := context.Background()
	for b.Loop() {
		h, err := r.Start(ctx, runtime.Spec{Name: "bench", Argv: []string{"sleep", "10"}, Env: testEnv})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
