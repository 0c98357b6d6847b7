package daemon

import "net/http"

// catalogRoutes mounts the catalog API (catalog, OpenAPI specs, docs).
func (d *Daemon) catalogRoutes(mux *http.ServeMux) {}
