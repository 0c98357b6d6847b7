package kube

import "time"

// SetListenWait shortens how long f holds and retries a connection
// while nothing listens on the remote port; before Run.
func (f *Forwarder) SetListenWait(d time.Duration) { f.listenWait = d }
