package supervise

import "golang.org/x/sys/unix"

// becomeSubreaper makes orphaned descendants reparent to this process
// rather than to init, so it reaps them when it is not PID 1.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
