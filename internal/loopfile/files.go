package loopfile

// The files plugin: load (the statement), read_file(), local() and env().
// Every file they read is recorded so a change to it re-evaluates the
// Loopfile.
//
// What they read and capture is bounded: load() and read_file() (and the
// Loopfile itself) read regular files only, of at most MaxFileSize, opened
// so that a FIFO swapped in after the check cannot block; local() captures
// at most MaxLocalOutput of a command's stdout and kills it past that; and
// everything an evaluation echoes goes through outputCap (MaxOutput).

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
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/output"
)

var filesPlugin = &plugin{builtins: []*builtin{readFileBuiltin, localBuiltin, envBuiltin}}

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
	s.addFile(path) // watched even when missing: creating it re-evaluates
	src, err := readSource(path)
	if err != nil {
		hint := readErrHint(err)
		if hint == "" {
			hint = "load() paths are relative to the file that contains the load"
		}
		return nil, &builtinError{
			msg:  fmt.Sprintf("load: cannot load %q: %s", name, readErrMsg(s.rel(path), err)),
			hint: hint,
		}
	}

	s.loading = append(s.loading, path)
	globals, err := s.exec(thread, path, src)
	s.loading = s.loading[:len(s.loading)-1]
	s.modules[path] = &module{globals: globals, err: err}
	return globals, err
}

var readFileBuiltin = &builtin{
	Name: "read_file", Returns: "string", fn: builtinReadFile,
	Doc: "Returns the contents of a file as a string. The file is watched either way: creating, changing or deleting it re-evaluates the Loopfile.",
	Params: []Param{
		{"path", "", "relative to the file that contains the call"},
		{"default", "None", "returned when the file is missing (otherwise that is an error)"},
	},
}

// read_file(path, default=None) returns the file's contents. path is
// relative to the directory of the calling file. A missing file is recorded
// too, so creating it re-evaluates the Loopfile.
func builtinReadFile(thread *starlark.Thread, a *args) (starlark.Value, error) {
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
	data, err := readSource(p)
	if err != nil {
		if def, ok := a.get("default"); ok && errors.Is(err, os.ErrNotExist) {
			return def, nil
		}
		hint := readErrHint(err)
		if hint == "" {
			hint = "read_file paths are relative to the file that calls it; pass default= to allow a missing file"
		}
		return nil, errorf(hint, "read_file: %s", readErrMsg(s.rel(p), err))
	}
	return starlark.String(data), nil
}

// Bounds of what evaluation reads and captures. Each is named in the error
// that hits it.
const (
	// MaxFileSize bounds every file evaluation reads as source or data:
	// the Loopfile, each load()ed file and each read_file().
	MaxFileSize = 16 << 20
	// MaxLocalOutput bounds the stdout local() captures from a command
	// (it becomes a Starlark string): past it the command is killed.
	MaxLocalOutput = 16 << 20
)

// A sourceError says why a path cannot be read as Loopfile input: it is
// not a regular file, or it is over MaxFileSize.
type sourceError struct {
	what string // "is a named pipe (FIFO), not a regular file"
	hint string
}

func (e *sourceError) Error() string { return e.what }

// readSource reads the regular file at path, at most MaxFileSize of it.
// It refuses FIFOs, devices, sockets and directories before opening them,
// and again after: it opens without blocking and checks the opened file,
// so a FIFO swapped in between cannot block the evaluation.
func readSource(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	f, err := openRegular(path) // proc_*.go
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileSize {
		return nil, tooBig(fmt.Sprintf("is %s, over the limit of %s (MaxFileSize)", formatSize(fi.Size()), formatSize(MaxFileSize)))
	}
	// A file that grows while it is read stops at the limit.
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxFileSize {
		return nil, tooBig(fmt.Sprintf("grew past the limit of %s (MaxFileSize) while it was read", formatSize(MaxFileSize)))
	}
	return buf.Bytes(), nil
}

func tooBig(what string) error {
	return &sourceError{
		what: what,
		hint: "a Loopfile reads small files; pass big data to services as files, or extract what you need with local()",
	}
}

// checkRegular refuses anything but a regular file, saying what it is.
func checkRegular(fi os.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	kind, hint := "not a regular file", "a Loopfile reads regular files only: a pipe, device or socket could block or never end"
	switch {
	case m.IsDir():
		kind, hint = "a directory", "name a file; a directory to watch goes in a resource's deps"
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		kind = "a socket"
	case m&os.ModeCharDevice != 0:
		kind = "a character device"
	case m&os.ModeDevice != 0:
		kind = "a block device"
	case m&os.ModeIrregular != 0:
		kind = "an irregular file"
	}
	return &sourceError{what: "is " + kind + ", not a regular file", hint: hint}
}

// formatSize renders n bytes as "16 MiB", "20.5 MiB", "12 KiB" or "700 bytes".
func formatSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			if s := fmt.Sprintf("%.1f %s", float64(n)/float64(u.size), u.name); !strings.Contains(s, ".0 ") {
				return s
			}
			return fmt.Sprintf("%d bytes", n)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// readErrMsg says why path could not be read.
func readErrMsg(path string, err error) string {
	var se *sourceError
	switch {
	case errors.As(err, &se):
		return path + " " + se.what
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("%s: no such file", path)
	}
	return err.Error()
}

// readErrHint is what to do about a read error, or "".
func readErrHint(err error) string {
	var se *sourceError
	if errors.As(err, &se) {
		return se.hint
	}
	return ""
}

var envBuiltin = &builtin{
	Name: "env", Returns: "string", fn: builtinEnv,
	Doc: "Returns the environment variable `name` of the environment `loop up` was run with, or `default` when unset.",
	Params: []Param{
		{"name", "", "the environment variable"},
		{"default", `""`, "returned when the variable is unset"},
	},
}

// env(name, default="") returns the variable from Options.Env, or default.
func builtinEnv(thread *starlark.Thread, a *args) (starlark.Value, error) {
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

var localBuiltin = &builtin{
	Name: "local", Returns: "string", fn: builtinLocal,
	Doc: "Runs `cmd` during evaluation and returns its standard output. Stopped after 60 seconds; a non-zero exit is an error. Files it reads are not watched.",
	Params: []Param{
		{"cmd", "", "a string for the shell (`sh -c`; on Windows `cmd /S /C`), or an argv list"},
		{"quiet", "False", "`True`: do not copy its output to the project log"},
		{"env", "{}", "added to the daemon's environment for the project"},
		{"dir", `"."`, "working directory, relative to the project directory"},
	},
}

// local(cmd, quiet=False, env={}, dir=".") runs cmd and returns its stdout.
// Its output is copied to Options.Stdout unless quiet.
func builtinLocal(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	argv := a.cmd("cmd")
	quiet := a.boolean("quiet", false)
	env := a.env("env")
	dir := a.dir(s, "dir")
	if a.err != nil {
		return nil, a.err
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.LocalTimeout)
	defer cancel()
	// A string is a script for the platform's shell (shellCommand, in
	// proc_*.go), shown as written; a list is the argv.
	shown := strings.Join(argv, " ")
	var cmd *exec.Cmd
	if script, ok := a.value("cmd").(starlark.String); ok {
		shown = string(script)
		cmd = shellCommand(ctx, shown)
	} else {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	}
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
	stdout := &capBuffer{max: MaxLocalOutput, full: cancel}
	stderr := output.NewTail(stderrTail)
	cmd.Stdout, cmd.Stderr = io.Writer(stdout), io.Writer(stderr)
	if !quiet {
		cmd.Stdout = io.MultiWriter(stdout, s.opts.Stdout)
		cmd.Stderr = io.MultiWriter(stderr, s.opts.Stdout)
	}
	cmd.WaitDelay = time.Second

	err := startTree(cmd) // proc_*.go
	if err == nil {
		err = cmd.Wait()
	}
	// Windows commands end their lines with CRLF; a message shows LF.
	tail := strings.TrimSpace(strings.ReplaceAll(stderr.String(), "\r\n", "\n"))
	switch {
	case stdout.over:
		return nil, errorf("local() returns stdout as a string: have the command write big output to a file, or run it as a task()",
			"local: %q: its stdout passed the limit of %s (MaxLocalOutput), so it was stopped", shown, formatSize(MaxLocalOutput))
	case err == nil:
		return starlark.String(stdout.buf.String()), nil
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

// errCaptureFull stops the copy of a command's stdout into a full capBuffer.
var errCaptureFull = errors.New("captured output is over the limit")

// capBuffer captures at most max bytes; the write that would pass max
// calls full (which kills the command) and fails.
type capBuffer struct {
	max  int
	buf  bytes.Buffer
	full func()
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if c.over || c.buf.Len()+len(p) > c.max {
		if !c.over {
			c.over = true
			c.full()
		}
		return 0, errCaptureFull
	}
	return c.buf.Write(p)
}

// outputCap passes on at most left bytes, then one line that says the
// rest is dropped, then nothing. It never fails a write: a chatty Loopfile
// loses output, not its evaluation.
type outputCap struct {
	w       io.Writer
	left    int
	dropped bool
}

func (o *outputCap) Write(p []byte) (int, error) {
	if o.dropped {
		return len(p), nil
	}
	if len(p) <= o.left {
		o.left -= len(p)
		o.w.Write(p)
		return len(p), nil
	}
	o.w.Write(p[:o.left])
	o.left, o.dropped = 0, true
	fmt.Fprintf(o.w, "\n[loop: evaluation output passed the limit of %s (MaxOutput); the rest is dropped]\n", formatSize(MaxOutput))
	return len(p), nil
}
