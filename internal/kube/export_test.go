package kube

import "time"

// SetListenWait shortens how long f holds and retries a connection
// while nothing listens on the remote port; before Run.
func (f *Forwarder) SetListenWait(d time.Duration) { f.listenWait = d }

// HelperExecs is how many supervisor subcommands l ran with an exec.
func (l *Live) HelperExecs() int64 { return l.helpers.Load() }
