package watch

import "fmt"

// notifyName is the backend fsnotify runs here.
const notifyName = "inotify"

// notifyBackend is fsnotify's backend, which SystemBackend reports.
func notifyBackend() Backend { return SystemBackend() }

// SystemBackend is inotify: one watch per directory (ignored directories
// cost none), bounded per user by two sysctls.
func SystemBackend() Backend {
	b := Backend{Name: "inotify", Cost: "one watch per watched directory"}
	for _, l := range []struct {
		sysctl   string
		min, fix int
	}{{sysctlWatches, 65536, suggestWatches}, {sysctlInstances, 128, suggestInstances}} {
		v, err := readSysctl(l.sysctl)
		if err != nil {
			v = -1
		}
		b.Limits = append(b.Limits, Limit{Name: l.sysctl, Value: v, Err: err, Min: l.min,
			Fix: fmt.Sprintf("sudo sysctl %s=%d", l.sysctl, l.fix)})
	}
	return b
}
