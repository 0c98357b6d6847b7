package model

// Route is a stable local URL (route()) served by loopd's gateway, which
// holds requests while the target restarts: http://HOST.localhost:PORT/PATH
// goes to 127.0.0.1:Port of Resource.
type Route struct {
	Host     string // "api" or "api.localhost"
	Path     string // URL path prefix, "/" by default
	Resource string // the target resource
	Port     int    // the target's port, 1-65535
	Pos      Position
}
