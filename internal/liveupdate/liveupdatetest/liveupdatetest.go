// Package liveupdatetest is live update's conformance suite: Run hands a
// container runtime (a real engine) to the same checks, one table, so
// that every runtime is proven to apply changes alike: the initial sync
// honours the ignore rules; a change syncs (deletes included), runs the
// steps it triggers and restarts in place; a failing step stops the
// update; rebuild_on and a path outside every sync rule ask for a rebuild;
// a stopped container is synced and its steps skipped.
package liveupdatetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// Harness is a runtime under test.
type Harness struct {
	Project string // a project name whose containers the caller removes
	Image   string // a busybox image the runtime has
	// Start starts spec, failing t on error. It is called twice for the
	// same spec: the second start adopts the stopped container.
	Start func(t *testing.T, spec runtime.Spec) runtime.Handle
}

// service writes its pid and counts its starts, and exits 0 on SIGTERM.
const service = `echo $$ > /tmp/svc.pid; echo started >> /tmp/starts; trap "exit 0" TERM; sleep 1000 & wait`

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	write(t, filepath.Join(src, "keep.txt"), "keep\n")
	write(t, filepath.Join(src, "gone.txt"), "gone\n")
	write(t, filepath.Join(src, ".git", "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(src, "debug.log"), "log\n")
	var out Buffer
	spec := runtime.Spec{
		Name: "lu", Project: h.Project, ProjectDir: dir, Stdout: &out, Stderr: &out, StopTimeout: 2 * time.Second,
		Ignore: func(p string, isDir bool) bool {
			b := filepath.Base(p)
			return b == ".git" || strings.HasSuffix(b, ".log")
		},
		Container: &model.Container{
			Image: h.Image, Cmd: []string{"/bin/sh", "-c", service},
			Sync:      []model.SyncRule{{Local: src, Remote: "/app"}},
			RebuildOn: []string{filepath.Join(dir, "go.mod")},
			OnChange: []model.Step{
				{Cmd: []string{"sh", "-c", "cp /app/a.txt /tmp/copied"}, Trigger: []string{filepath.Join(src, "a.txt")}},
				{Cmd: []string{"sh", "-c", "echo step failed >&2; exit 3"}, Trigger: []string{filepath.Join(src, "fail.txt")}},
				{Restart: true},
			},
		},
	}
	hd := h.Start(t, spec)
	t.Cleanup(func() { stop(t, hd) })
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	want(t, hd, "/tmp/starts", "started\n")

	t.Run("initial sync honours the ignore rules", func(t *testing.T) {
		want(t, hd, "/app/keep.txt", "keep\n")
		want(t, hd, "/app/.git/HEAD", "")
		want(t, hd, "/app/debug.log", "")
	})

	for _, tt := range []struct {
		name    string
		edit    func(t *testing.T)
		changed []string
		rebuild bool
		wantErr string            // in the error of a failed update
		files   map[string]string // container path -> content, "" absent
		starts  int
	}{
		{
			name:    "sync, triggered step, restart in place",
			edit:    func(t *testing.T) { write(t, filepath.Join(src, "a.txt"), "v1\n") },
			changed: []string{filepath.Join(src, "a.txt")},
			files:   map[string]string{"/app/a.txt": "v1\n", "/tmp/copied": "v1\n"},
			starts:  2,
		},
		{
			name:    "delete",
			edit:    func(t *testing.T) { remove(t, filepath.Join(src, "gone.txt")) },
			changed: []string{filepath.Join(src, "gone.txt")},
			files:   map[string]string{"/app/gone.txt": "", "/app/keep.txt": "keep\n"},
			starts:  3,
		},
		{
			name:    "a failing step stops the update",
			edit:    func(t *testing.T) { write(t, filepath.Join(src, "fail.txt"), "x\n") },
			changed: []string{filepath.Join(src, "fail.txt")},
			wantErr: "exited 3:\nstep failed",
			files:   map[string]string{"/app/fail.txt": "x\n"},
			starts:  3,
		},
		{
			name:    "rebuild_on",
			changed: []string{filepath.Join(dir, "go.mod")},
			rebuild: true,
			starts:  3,
		},
		{
			name:    "outside every sync rule",
			changed: []string{filepath.Join(dir, "Dockerfile")},
			rebuild: true,
			starts:  3,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				tt.edit(t)
			}
			err := hd.(runtime.Updater).Update(t.Context(), tt.changed)
			switch {
			case tt.rebuild:
				if !errors.Is(err, runtime.ErrRebuild) {
					t.Errorf("Update = %v, want ErrRebuild", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, runtime.ErrRebuild) {
					t.Errorf("Update = %v, want an error with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("Update = %v", err)
			}
			for p, s := range tt.files {
				want(t, hd, p, s)
			}
			want(t, hd, "/tmp/starts", strings.Repeat("started\n", tt.starts))
		})
	}

	t.Run("Restart", func(t *testing.T) {
		if err := hd.(runtime.Restarter).Restart(t.Context()); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		want(t, hd, "/tmp/starts", strings.Repeat("started\n", 4))
		select {
		case <-hd.Done():
			t.Fatalf("the container stopped on a restart in place: %v", hd.Exit())
		default:
		}
	})

	t.Run("stopped container: synced, steps skipped", func(t *testing.T) {
		if code, s := run(t, hd, "sh", "-c", "kill $(cat /tmp/svc.pid)"); code != 0 {
			t.Fatalf("kill the service = %d %q", code, s)
		}
		select {
		case <-hd.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("the container runs 30s after its service was killed")
		}
		remove(t, filepath.Join(src, "keep.txt"))
		write(t, filepath.Join(src, "a.txt"), "v2\n")
		changed := []string{filepath.Join(src, "keep.txt"), filepath.Join(src, "a.txt")}
		if err := hd.(runtime.Updater).Update(t.Context(), changed); err != nil {
			t.Fatalf("Update of a stopped container = %v, want nil", err)
		}
		if !strings.Contains(out.String(), "files synced, on_change steps skipped") {
			t.Errorf("output does not say the steps were skipped")
		}
		// Started again, the same container has the files synced while
		// it was stopped, and the step never ran.
		h2 := h.Start(t, spec)
		t.Cleanup(func() { stop(t, h2) })
		want(t, h2, "/app/keep.txt", "")
		want(t, h2, "/app/a.txt", "v2\n")
		want(t, h2, "/tmp/copied", "v1\n")
		want(t, h2, "/tmp/starts", strings.Repeat("started\n", 5))
	})
}

// want polls until path in the container holds content ("": is absent).
func want(t *testing.T, h runtime.Handle, path, content string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, got := run(t, h, "cat", path)
		if (content == "" && code != 0) || (code == 0 && got == content) {
			return
		}
		if time.Now().After(deadline) {
			if content == "" {
				t.Errorf("%s = %q, want it absent", path, got)
			} else {
				t.Errorf("%s = %d %q, want %q", path, code, got, content)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run execs argv in h and returns its exit code and output.
func run(t *testing.T, h runtime.Handle, argv ...string) (int, string) {
	t.Helper()
	var out Buffer
	code, err := h.(runtime.Execer).Exec(t.Context(), runtime.ExecSpec{Argv: argv, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	return code, out.String()
}

func stop(t *testing.T, h runtime.Handle) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// Buffer is a bytes.Buffer safe for concurrent writes: a container's
// output and its execs' write to it at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
