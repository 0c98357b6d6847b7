package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLimitError(t *testing.T) {
	old := readSysctl
	t.Cleanup(func() { readSysctl = old })
	readSysctl = func(name string) (int, error) {
		switch name {
		case sysctlWatches:
			return 8192, nil
		case sysctlInstances:
			return 128, nil
		}
		return 0, errors.New("no such sysctl")
	}
	tests := []struct {
		name      string
		err       error
		path      string
		wantLimit bool
		wantText  []string
	}{
		{"watches", syscall.ENOSPC, "/p/src", true, []string{
			"watch /p/src: out of inotify watches",
			"fs.inotify.max_user_watches = 8192",
			"sudo sysctl fs.inotify.max_user_watches=524288",
		}},
		{"wrapped watches", fmt.Errorf("add: %w", syscall.ENOSPC), "/p", true, []string{"fs.inotify.max_user_watches = 8192"}},
		{"instances", fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE), "", true, []string{
			"out of inotify instances",
			"fs.inotify.max_user_instances = 128",
			"sudo sysctl fs.inotify.max_user_instances=1024",
		}},
		{"permission is no limit", syscall.EACCES, "/p", false, nil},
		{"EMFILE from add_watch is no limit", syscall.EMFILE, "/p", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := limitError(tt.err, tt.path)
			if got := errors.Is(err, ErrLimit); got != tt.wantLimit {
				t.Fatalf("errors.Is(%v, ErrLimit) = %v, want %v", err, got, tt.wantLimit)
			}
			if !errors.Is(err, tt.err) && err != tt.err {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
	readSysctl = func(string) (int, error) { return 0, os.ErrNotExist }
	if got, want := limitError(syscall.ENOSPC, "/p").Error(), "(fs.inotify.max_user_watches):"; !strings.Contains(got, want) {
		t.Errorf("without /proc: %q lacks %q", got, want)
	}
}

func TestReadSysctl(t *testing.T) {
	if _, err := os.Stat("/proc/sys/fs/inotify/max_user_watches"); err != nil {
		t.Skip("no /proc/sys/fs/inotify:", err)
	}
	v, err := readSysctl(sysctlWatches)
	if err != nil || v <= 0 {
		t.Errorf("readSysctl(%s) = %d, %v, want a positive value", sysctlWatches, v, err)
	}
}

func TestWatcher_WatchLimitStopsRun(t *testing.T) {
	t.Run("initial walk", func(t *testing.T) {
		root := t.TempDir()
		w, err := New(Options{Root: root, Paths: []string{root}})
		must(t, err)
		w.addWatch = func(string) error { return syscall.ENOSPC }
		err = w.Run(context.Background())
		if !errors.Is(err, ErrLimit) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Run = %v, want an ErrLimit wrapping ENOSPC", err)
		}
		var le *LimitError
		if !errors.As(err, &le) || le.Sysctl != sysctlWatches || le.Path != root {
			t.Errorf("LimitError = %+v, want sysctl %s and path %s", le, sysctlWatches, root)
		}
	})
	t.Run("new directory", func(t *testing.T) {
		root := t.TempDir()
		w, err := New(Options{Root: root, Paths: []string{root}})
		must(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- w.runWithLimit(ctx, 1)
		}()
		select {
		case <-w.Ready():
		case <-time.After(waitLimit):
			t.Fatal("not ready")
		}
		must(t, os.Mkdir(filepath.Join(root, "new"), 0o755))
		select {
		case err := <-done:
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("Run = %v, want ErrLimit", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Run did not stop")
		}
	})
}

// runWithLimit runs w, failing every inotify_add_watch after the first n
// with ENOSPC.
func (w *Watcher) runWithLimit(ctx context.Context, n int) error {
	added := 0
	w.addWatch = func(dir string) error {
		if added >= n {
			return syscall.ENOSPC
		}
		added++
		return w.src.Add(dir)
	}
	return w.Run(ctx)
}
