package model

import "time"

// Route is a stable local URL (route()) served by loopd's gateway, which
// holds requests while the target restarts: http://HOST.localhost:PORT/PATH
// goes to 127.0.0.1:Port of Resource.
type Route struct {
	Host     string // "api" or "api.localhost"
	Path     string // URL path prefix, "/" by default
	Resource string // the target resource
	Port     int    // the target's port, 1-65535
	// Timeout bounds how long the target may take to start answering a
	// request (0: the gateway's default, 30s unless LOOP_GATEWAY_TIMEOUT
	// says otherwise); at most MaxRouteTimeout.
	Timeout time.Duration
	Pos     Position
}

// MaxRouteTimeout is the longest route(timeout=): a request that waits
// longer for its first response byte is a stuck service, not a slow one.
const MaxRouteTimeout = time.Hour
