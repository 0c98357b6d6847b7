// Package cmdpath finds the executable a command names the way the
// process that runs it will: in the PATH of the command's own environment,
// relative to its own directory. It imports nothing that needs cgo, so the
// in-container supervisor (internal/supervise) can use it and stay static.
package cmdpath

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NotFoundError says a command is not in the PATH it was looked up in.
// errors.Is(err, exec.ErrNotFound) holds.
type NotFoundError struct {
	Command string
	Path    string // the PATH searched; "" for a command given as a path
}

func (e *NotFoundError) Error() string {
	if isPath(e.Command) {
		return fmt.Sprintf("command %q not found or not executable; check the path (relative paths start from the resource's dir)", e.Command)
	}
	return fmt.Sprintf("command %q not found in PATH (PATH=%s); install it or set PATH in the resource's env", e.Command, e.Path)
}

func (e *NotFoundError) Unwrap() error { return exec.ErrNotFound }

// Look finds the executable for file the way the process will: a path (a
// name with a slash; on Windows also a backslash or a drive) is taken
// relative to dir, any other name is searched in the PATH of env (not the
// daemon's PATH). Relative PATH entries are taken relative to dir. On
// Windows a name without one of PATHEXT's extensions is tried with each.
// The result is absolute when dir is.
func Look(file, dir string, env []string) (string, error) {
	if isPath(file) {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if p, ok := found(p, env); ok {
			return p, nil
		}
		return "", &NotFoundError{Command: file}
	}
	pathEnv := lookupEnv(env, "PATH")
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) && dir != "" {
			d = filepath.Join(dir, d)
		}
		if p, ok := found(filepath.Join(d, file), env); ok {
			return p, nil
		}
	}
	return "", &NotFoundError{Command: file, Path: pathEnv}
}

// found is the first of p's candidates (see candidates) that is an
// executable file.
func found(p string, env []string) (string, bool) {
	for _, c := range candidates(p, lookupEnv(env, "PATHEXT")) {
		if executable(c) {
			return c, true
		}
	}
	return "", false
}

// lookupEnv returns the last value of key in env, as exec and the
// process see it (names are case-insensitive on Windows).
func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		k, v, ok := strings.Cut(env[i], "=")
		if ok && sameEnvName(k, key) {
			return v
		}
	}
	return ""
}

// statExec reports whether the file at p exists and is not a directory,
// and its mode.
func statExec(p string) (os.FileMode, bool) {
	fi, err := os.Stat(p)
	if err != nil {
		// Exists but unreadable: let exec report it.
		return 0o111, errors.Is(err, os.ErrPermission)
	}
	return fi.Mode(), !fi.IsDir()
}
