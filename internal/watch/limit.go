package watch

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLimit is wrapped by every error caused by a kernel inotify limit; test
// for it with errors.Is and read the details from a *LimitError.
var ErrLimit = errors.New("inotify limit reached")

// Sysctls that bound inotify, and the value suggested when one runs out.
const (
	sysctlWatches    = "fs.inotify.max_user_watches"
	sysctlInstances  = "fs.inotify.max_user_instances"
	suggestWatches   = 524288
	suggestInstances = 1024
)

// LimitError reports that an inotify limit was reached and how to raise it.
type LimitError struct {
	Sysctl  string // fs.inotify.max_user_watches or fs.inotify.max_user_instances
	Current int    // current value from /proc/sys, -1 if unknown
	Suggest int    // value to raise it to
	Path    string // directory being watched when the limit was hit ("" for instances)
	Err     error  // the system call error (ENOSPC or EMFILE)
}

func (e *LimitError) Error() string {
	var b strings.Builder
	if e.Sysctl == sysctlWatches {
		fmt.Fprintf(&b, "watch %s: out of inotify watches", e.Path)
	} else {
		b.WriteString("watch: out of inotify instances")
	}
	if e.Current >= 0 {
		fmt.Fprintf(&b, " (%s = %d)", e.Sysctl, e.Current)
	} else {
		fmt.Fprintf(&b, " (%s)", e.Sysctl)
	}
	fmt.Fprintf(&b, ": raise it with `sudo sysctl %s=%d`", e.Sysctl, e.Suggest)
	fmt.Fprintf(&b, " (persist it in /etc/sysctl.d/), or ignore more directories in .gitignore, .loopignore or watch_settings(ignore=): %v", e.Err)
	return b.String()
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

func (e *LimitError) Unwrap() error { return e.Err }

// readSysctl reads an integer from /proc/sys; a variable so tests can fake it.
var readSysctl = func(name string) (int, error) {
	data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// limitError turns err into a *LimitError when it is an inotify limit error
// (ENOSPC from inotify_add_watch, EMFILE from inotify_init; Linux only: kqueue
// and ReadDirectoryChangesW have no such limits) and returns it
// unchanged otherwise. path is the directory being added, "" for init.
func limitError(err error, path string) error {
	var le *LimitError
	if err == nil || errors.As(err, &le) {
		return err
	}
	e := &LimitError{Path: path, Err: err, Current: -1}
	switch {
	case path != "" && errors.Is(err, syscall.ENOSPC):
		e.Sysctl, e.Suggest = sysctlWatches, suggestWatches
	case path == "" && errors.Is(err, syscall.EMFILE):
		e.Sysctl, e.Suggest = sysctlInstances, suggestInstances
	case errors.Is(err, syscall.EMFILE) && notifyName == "kqueue":
		// kqueue (BSD, and macOS without FSEvents) holds a descriptor per
		// watched file.
		b := notifyBackend()
		fix := "ignore more directories in .gitignore, .loopignore or watch_settings(ignore=)"
		if len(b.Limits) > 0 {
			fix = b.Limits[0].Fix
		}
		return fmt.Errorf("watch %s: out of open files (%s holds %s): %s: %w", path, b.Name, b.Cost, fix, err)
	default:
		return err
	}
	if v, rerr := readSysctl(e.Sysctl); rerr == nil {
		e.Current = v
	}
	return e
}
