package loopfile

// The files plugin: load (the statement), read_file(), local() and env().
// Every file they read is recorded so a change to it re-evaluates the
// Loopfile.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

func registerFiles(env starlark.StringDict) {
	env["read_file"] = starlark.NewBuiltin("read_file", builtinReadFile)
	env["local"] = starlark.NewBuiltin("local", builtinLocal)
	env["env"] = starlark.NewBuiltin("env", builtinEnv)
}

// loadModule implements the load statement: path is relative to the
// directory of the file that contains the load.
func loadModule(thread *starlark.Thread, name string) (starlark.StringDict, error) {
	s := stateOf(thread)
	from := thread.CallFrame(0).Pos.Filename()
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(from), path)
	}
	path = filepath.Clean(path)

	if i := slices.Index(s.loading, path); i >= 0 || path == s.project.Loopfile {
		cycle := append([]string{s.project.Loopfile}, s.loading...)
		cycle = append(cycle, path)
		for j, p := range cycle {
			cycle[j] = s.rel(p)
		}
		return nil, &builtinError{
			msg:  "load: load cycle: " + strings.Join(cycle, " -> "),
			hint: "move the shared definitions into a file that loads neither",
		}
	}
	if m, ok := s.modules[path]; ok {
		return m.globals, m.err
	}
	if _, err := os.Stat(path); err != nil {
		s.addFile(path) // watch for it to appear
		return nil, &builtinError{
			msg:  fmt.Sprintf("load: cannot load %q: %s", name, readErrMsg(path, err)),
			hint: "load() paths are relative to the file that contains the load",
		}
	}

	s.loading = append(s.loading, path)
	globals, err := s.exec(thread, path)
	s.loading = s.loading[:len(s.loading)-1]
	s.modules[path] = &module{globals: globals, err: err}
	return globals, err
}

// read_file(path, default=None) returns the file's contents. path is
// relative to the directory of the calling file. A missing file is recorded
// too, so creating it re-evaluates the Loopfile.
func builtinReadFile(thread *starlark.Thread, b *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpack(b.Name(), posArgs, kwargs, "path", "default?")
	if err != nil {
		return nil, err
	}
	p := a.str("path", "")
	if a.err != nil {
		return nil, a.err
	}
	s := stateOf(thread)
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(thread.CallFrame(1).Pos.Filename()), p)
	}
	p = filepath.Clean(p)
	s.addFile(p)
	data, err := os.ReadFile(p)
	if err != nil {
		if def, ok := a.vals["default"]; ok && errors.Is(err, os.ErrNotExist) {
			return def, nil
		}
		return nil, errorf("read_file paths are relative to the file that calls it; pass default= to allow a missing file",
			"read_file: %s", readErrMsg(s.rel(p), err))
	}
	return starlark.String(data), nil
}

// env(name, default="") returns the variable from Options.Env, or default.
func builtinEnv(thread *starlark.Thread, b *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpack(b.Name(), posArgs, kwargs, "name", "default?")
	if err != nil {
		return nil, err
	}
	name, def := a.str("name", ""), a.str("default", "")
	if a.err != nil {
		return nil, a.err
	}
	if v, ok := lookupEnv(stateOf(thread).opts.Env, name); ok {
		return starlark.String(v), nil
	}
	return starlark.String(def), nil
}

// lookupEnv finds name in a K=V list; the last occurrence wins.
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// stderrTail is how much of a failed local() command's stderr an error shows.
const stderrTail = 2048

// local(cmd, quiet=False, env={}, dir=".") runs cmd and returns its stdout.
// Its output is copied to Options.Stdout unless quiet.
func builtinLocal(thread *starlark.Thread, b *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpack(b.Name(), posArgs, kwargs, "cmd", "quiet?", "env?", "dir?")
	if err != nil {
		return nil, err
	}
	s := stateOf(thread)
	argv := a.cmd("cmd")
	quiet := a.boolean("quiet", false)
	env := a.strDict("env")
	dir := a.dir(s, "dir")
	if a.err != nil {
		return nil, a.err
	}
	shown := strings.Join(argv, " ")
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		shown = argv[2]
	}

	ctx, cancel := context.WithTimeout(s.ctx, s.opts.LocalTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{}, s.opts.Env...)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stdout, cmd.Stderr = io.Writer(&stdout), io.Writer(stderr)
	if !quiet {
		cmd.Stdout = io.MultiWriter(&stdout, s.opts.Stdout)
		cmd.Stderr = io.MultiWriter(stderr, s.opts.Stdout)
	}
	killGroup(cmd)
	cmd.WaitDelay = time.Second

	err = cmd.Run()
	tail := strings.TrimSpace(stderr.String())
	switch {
	case err == nil:
		return starlark.String(stdout.String()), nil
	case s.ctx.Err() != nil:
		return nil, s.ctx.Err()
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, errorf("make the command faster, or run it as a task() instead",
			"local: %q timed out after %s%s", shown, s.opts.LocalTimeout, withTail(tail))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil, errorf("fix the command; local() fails the Loopfile when its command fails",
			"local: %q exited with code %d%s", shown, exit.ExitCode(), withTail(tail))
	}
	return nil, errorf("", "local: %q: %v", shown, err)
}

func withTail(tail string) string {
	if tail == "" {
		return ""
	}
	return ": " + tail
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = slices.Delete(t.buf, 0, over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// syncWriter serializes writes: local() copies stdout and stderr to the
// same writer from two goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
