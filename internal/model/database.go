package model

import "strconv"

// Database is a self-service database (database()): it becomes a resource
// of the project (a service running local binaries, or a container); its
// dependants get its connection URL in their environment.
type Database struct {
	Name     string
	Pos      Position
	Engine   string // "postgres", "redis" or "mysql"
	Version  string // engine version ("" = the newest installed, or the image's default tag)
	Runtime  string // "process" or "container"
	Port     int    // TCP port on 127.0.0.1
	User     string
	DB       string // database name
	Password string // generated once and kept in Dir
	Seed     string // absolute path of the seed file, or ""
	Dir      string // state directory: data/, snapshots/, password (process runtime)
	URL      string // connection URL for dependants on the host: 127.0.0.1:Port

	// Container mode: dependants that are containers themselves reach the
	// database on the project's network as Name:ContainerPort, with
	// NetURL.
	ContainerPort int
	NetURL        string
}

// Env is the environment a dependant of d gets; inContainer: the
// dependant runs in a container on the project's network.
func (d *Database) Env(inContainer bool) map[string]string {
	url, host, port := d.URL, "127.0.0.1", d.Port
	if inContainer && d.NetURL != "" {
		url, host, port = d.NetURL, d.Name, d.ContainerPort
	}
	env := map[string]string{"DATABASE_URL": url}
	if d.Engine == "redis" {
		env = map[string]string{"REDIS_URL": url}
	}
	if d.Engine == "postgres" {
		env["PGHOST"] = host
		env["PGPORT"] = strconv.Itoa(port)
		env["PGUSER"] = d.User
		env["PGPASSWORD"] = d.Password
		env["PGDATABASE"] = d.DB
	}
	return env
}
