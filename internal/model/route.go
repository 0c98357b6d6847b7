package model

// Route is a stable local URL (route()) served by loopd's gateway, which
// holds requests while the target restarts.
type Route struct {
	Host string
	Pos  Position
}
