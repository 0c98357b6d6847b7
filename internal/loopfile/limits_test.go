//go:build unix

package loopfile

// Tests of the bounds on what evaluation reads, captures and prints, and of
// the hooks a caller that bounds memory and time (package sandbox) uses.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadWithin evaluates the Loopfile at path in the background and fails
// the test if it has not returned within a generous deadline (a blocked
// open or read), instead of hanging the test binary.
func loadWithin(t *testing.T, ctx context.Context, path string, opts Options) error {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{"PATH=" + os.Getenv("PATH")}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load(ctx, path, opts)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("Load(%s) did not return: blocked", path)
		return nil
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
}

func TestLoad_readsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "fifo"))
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, want, hint string
	}{
		{"read_file FIFO", `x = read_file("fifo")`, `read_file: fifo is a named pipe (FIFO), not a regular file`, "regular files only"},
		{"read_file /dev/zero", `x = read_file("/dev/zero")`, `read_file: /dev/zero is a character device, not a regular file`, "regular files only"},
		{"read_file directory", `x = read_file("subdir", default = "")`, `read_file: subdir is a directory, not a regular file`, "name a file"},
		{"load FIFO", `load("fifo", "x")`, `load: cannot load "fifo": fifo is a named pipe (FIFO), not a regular file`, "regular files only"},
		{"load /dev/zero", `load("/dev/zero", "x")`, `load: cannot load "/dev/zero": /dev/zero is a character device, not a regular file`, "regular files only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "Loopfile")
			writeFile(t, path, "\n"+tt.src+"\n")
			err := loadWithin(t, context.Background(), path, Options{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if e.Msg != tt.want || !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("got %q (hint %q), want %q (hint with %q)", e.Msg, e.Hint, tt.want, tt.hint)
			}
			if e.File != path || e.Line != 2 {
				t.Errorf("got %s:%d, want %s:2", e.File, e.Line, path)
			}
		})
	}
}

func TestLoad_loopfileIsAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Loopfile")
	mkfifo(t, path)
	err := loadWithin(t, context.Background(), path, Options{})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "is a named pipe (FIFO), not a regular file") || e.File != path {
		t.Fatalf("got %v, want a not-a-regular-file error at %s", err, path)
	}
	if !slices.Equal(e.Files, []string{path}) {
		t.Errorf("got Files %q, want the Loopfile (fixing it re-evaluates)", e.Files)
	}
}

// A FIFO swapped in after the stat must not block the open: openRegular
// never blocks, and says what it opened.
func TestOpenRegular_FIFODoesNotBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, path)
	done := make(chan error, 1)
	go func() {
		f, err := openRegular(path)
		if err == nil {
			var fi os.FileInfo
			fi, err = f.Stat()
			if err == nil {
				err = checkRegular(fi)
			}
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("got %v, want a named pipe error", err)
		}
	case <-time.After(20 * time.Second):
		// Unblock the open so the goroutine ends, then fail.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("opening a FIFO blocked")
	}
}

func TestLoad_fileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: no disk used.
	if err := f.Truncate(20 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	writeFile(t, filepath.Join(dir, "ok.txt"), strings.Repeat("x", 1000))
	for _, tt := range []struct{ src, want string }{
		{`x = read_file("big.json")`, "read_file: big.json is 20 MiB, over the limit of 16 MiB (MaxFileSize)"},
		{`load("big.json", "x")`, `load: cannot load "big.json": big.json is 20 MiB, over the limit of 16 MiB (MaxFileSize)`},
	} {
		path := filepath.Join(dir, "Loopfile")
		writeFile(t, path, "ok = read_file('ok.txt')\n"+tt.src)
		err := loadWithin(t, context.Background(), path, Options{})
		var e *Error
		if !errors.As(err, &e) || e.Msg != tt.want || e.Line != 2 {
			t.Errorf("got %v, want %q at line 2", err, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		700: "700 bytes", 12 << 10: "12 KiB", 16 << 20: "16 MiB", 20<<20 + 512<<10: "20.5 MiB",
		16<<20 + 1: "16777217 bytes", 3 << 30: "3 GiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLoad_localOutputLimit(t *testing.T) {
	for _, quiet := range []string{"True", "False"} {
		var out syncBuffer
		e, _ := mustError(t, map[string]string{"Loopfile": "\nx = local('yes', quiet = " + quiet + ")\n"}, Options{Stdout: &out})
		want := `local: "yes": its stdout passed the limit of 16 MiB (MaxLocalOutput), so it was stopped`
		if e.Msg != want || e.Line != 2 || !strings.Contains(e.Hint, "to a file") {
			t.Errorf("quiet=%s: got %s (hint %q), want %q at line 2", quiet, e, e.Hint, want)
		}
		if n := len(out.String()); n > MaxOutput+200 {
			t.Errorf("quiet=%s: got %d bytes of output, want at most MaxOutput", quiet, n)
		}
	}
}

func TestLoad_outputLimit(t *testing.T) {
	var out syncBuffer
	// 2 MiB of print() and some local() output after the limit.
	src := `
line = "x" * 1023
for i in range(2048):
    print(line)
local("echo after")
task("t", "true")
`
	if _, _, err := fixture(t, map[string]string{"Loopfile": src}, Options{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	notice := "[loop: evaluation output passed the limit of 1 MiB (MaxOutput); the rest is dropped]\n"
	if !strings.HasSuffix(got, notice) {
		t.Errorf("got output ending %q, want it to end with the notice", got[max(0, len(got)-200):])
	}
	if n := len(got); n != MaxOutput+1+len(notice) {
		t.Errorf("got %d bytes, want MaxOutput + a newline + the notice", n)
	}
}

// A caller stops an evaluation with a *Stop cause on its context: the error
// is its message and hint, at the line that was running.
func TestLoad_stopCause(t *testing.T) {
	stop := &Stop{Msg: "evaluation used 9 MiB, over the limit of 8 MiB (TEST)", Hint: "use less"}
	tests := []struct {
		name, src string
		line      int
	}{
		{"in Starlark", "def spin():\n    for i in range(1 << 40):\n        pass\nspin()\n", 2},
		{"in local()", "x = 1\nlocal('sleep 30')\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Loopfile")
			writeFile(t, path, tt.src)
			ctx, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, stop)
			defer cancel()
			err := loadWithin(t, ctx, path, Options{MaxSteps: 1 << 62})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error", err)
			}
			if e.Msg != stop.Msg || e.Hint != stop.Hint || e.Line != tt.line {
				t.Errorf("got %s (hint %q), want %q at line %d", e, e.Hint, stop.Msg, tt.line)
			}
			if !errors.Is(err, stop) {
				t.Errorf("got cause %v, want the *Stop", errors.Unwrap(err))
			}
		})
	}
}

func TestLoad_onFile(t *testing.T) {
	var got []string
	_, dir, err := fixture(t, map[string]string{
		"Loopfile": "load('a.star', 'a')\nx = read_file('missing', default = '')\nfail('boom')",
		"a.star":   "a = 1",
	}, Options{OnFile: func(p string) { got = append(got, p) }})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error", err)
	}
	want := []string{filepath.Join(dir, "Loopfile"), filepath.Join(dir, "a.star"), filepath.Join(dir, "missing")}
	if !slices.Equal(got, want) || !slices.Equal(e.Files, want) {
		t.Errorf("got OnFile %q and Files %q, want %q", got, e.Files, want)
	}
}

func TestError_WithCause(t *testing.T) {
	cause := fmt.Errorf("wrapped: %w", context.Canceled)
	e := (&Error{Msg: "stopped"}).WithCause(cause)
	if !errors.Is(e, context.Canceled) {
		t.Errorf("got %v, want it to unwrap to context.Canceled", e)
	}
}
