package daemon

import "context"

// gateway runs loopd's local gateway (route()) until ctx ends.
func (d *Daemon) gateway(ctx context.Context) {}
