package daemon

import "net/http"

// portalRoutes mounts the web portal on the 127.0.0.1 listener.
func (d *Daemon) portalRoutes(mux *http.ServeMux) {}
