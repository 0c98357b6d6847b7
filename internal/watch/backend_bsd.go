//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package watch

import (
	"syscall"
)

// notifyName is the backend fsnotify runs here.
const notifyName = "kqueue"

// kqueueMinFiles is the open-file limit below which a mid-sized project
// (a few thousand files outside ignored directories) runs out.
const kqueueMinFiles = 10240

// notifyBackend is fsnotify's kqueue backend: it holds an open descriptor
// for every watched file and directory, so the process's open-file limit
// bounds the tree (ignored directories cost none). The Go runtime raises
// the soft limit to the hard one at start; macOS caps that at
// kern.maxfilesperproc.
func notifyBackend() Backend {
	b := Backend{Name: notifyName, Cost: "one open file descriptor per watched file and directory"}
	var rl syscall.Rlimit
	l := Limit{Name: "open files (RLIMIT_NOFILE)", Min: kqueueMinFiles,
		Fix: "raise it (macOS: sudo launchctl limit maxfiles 65536 200000; sudo sysctl kern.maxfilesperproc=65536), or ignore more directories in .gitignore, .loopignore or watch_settings(ignore=)"}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		l.Value, l.Err = -1, err
	} else {
		l.Value = int(min(rl.Cur, 1<<31-1))
	}
	b.Limits = append(b.Limits, l)
	return b
}
