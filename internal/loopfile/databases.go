package loopfile

// The databases plugin: database() declares a self-service database and
// desugars it into an ordinary resource of the project: in process mode a
// service (its command, the generated start script, comes later), in
// container mode a container() of the engine's official image.
//
// Evaluation is pure: database() records the declared settings
// (model.Database) and writes nothing, generates no password and looks
// for no binaries. loopd completes the model with database.Prepare before
// the engine starts anything: the layout under the state directory, the
// password, the start script, the image's credentials and the dependants'
// DATABASE_URL (package database).

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/database"
	"github.com/loopdev/loop/internal/model"
)

// Database engines and runtimes.
var (
	dbEngines  = []string{"postgres", "redis", "mysql"}
	dbRuntimes = []string{"process", "container"}
)

var databasesPlugin = &plugin{builtins: []*builtin{databaseBuiltin}}

var databaseBuiltin = &builtin{
	Name: "database", Returns: "name", fn: builtinDatabase,
	Doc: "Declares a self-service database as a service (process mode: initdb once, seed once) or a container (the image initialises and seeds an empty volume). It is ready when the server answers queries: `pg_isready`, `mariadb-admin ping` (process-mode mysql is Debian's MariaDB); in container mode, run inside the container, `pg_isready`, `mysqladmin ping` or `redis-cli ping` (process-mode redis: its port accepts connections). Every resource listing it in `resource_deps` gets `DATABASE_URL` (and `PG*`) in its environment. `loop db reset|snapshot|restore NAME` manage its data; `loop down` keeps it, `loop down --volumes` deletes a container's volume (docs/databases.md).",
	Params: []Param{
		{"name", "", "resource name of the database (also its default database name)"},
		{"engine", `"postgres"`, "`\"postgres\"`, `\"redis\"` or `\"mysql\"`"},
		{"version", `""`, "engine version (`\"\"`: the newest installed; the image tag in container mode)"},
		{"runtime", `"process"`, "`\"process\"`: local binaries with a data dir in loop's state dir; `\"container\"`: the official image (present locally), its data in the named volume `NAME-data`"},
		{"port", "0", "port on 127.0.0.1; 0 = 5433 + hash(name) % 1000"},
		{"seed", `""`, "a `.sql` file, relative to the Loopfile, applied once on first start"},
		{"user", `"dev"`, "database user (its password is generated once and kept in the state dir)"},
		{"db", "name", "database name"},
	},
}

// database(name, engine="postgres", ...) declares a database. Returns name.
func builtinDatabase(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	db := &model.Database{
		Name:    a.str("name", ""),
		Engine:  a.oneOf("engine", "postgres", dbEngines...),
		Version: a.str("version", ""),
		Runtime: a.oneOf("runtime", "process", dbRuntimes...),
		User:    a.str("user", "dev"),
		Pos:     callerPos(thread),
	}
	db.DB = a.str("db", db.Name)
	if a.err == nil && !namePattern.MatchString(db.Name) {
		a.fail("name", "use letters, digits, '.', '_' and '-', starting with a letter or digit",
			"invalid database name %q", db.Name)
	}
	db.Port = database.DefaultPort(db.Name)
	if v, ok := a.get("port"); ok && a.err == nil {
		if err := starlark.AsInt(v, &db.Port); err != nil {
			a.wrongType("port", v, "int")
		} else if db.Port < 0 || db.Port > 65535 {
			a.fail("port", "", "port %d out of range 1-65535", db.Port)
		} else if db.Port == 0 {
			db.Port = database.DefaultPort(db.Name)
		}
	}
	if seed := a.str("seed", ""); seed != "" && a.err == nil {
		db.Seed = s.abs(seed)
		if _, err := os.Stat(db.Seed); err != nil {
			a.fail("seed", "the seed is a .sql file relative to the Loopfile's directory", "seed file %q: %v", seed, errors.Unwrap(err))
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	if prev := s.project.Resource(db.Name); prev != nil {
		return nil, a.errorAt("name", "rename one of them; resource names are unique across the project",
			"database: duplicate resource name %q (first declared at %s)", db.Name, s.relPos(prev.Pos))
	}
	if db.Runtime == "container" {
		db.ContainerPort = database.ImageOf(db).Port
		return declareDBContainer(thread, a, db)
	}
	v, err := s.declare(thread, a, processResource(s, db), nil)
	if err != nil {
		return nil, err
	}
	s.project.Databases = append(s.project.Databases, db)
	return v, nil
}

// processResource is the service of a process-mode database as far as
// evaluation knows it: database.Prepare sets its command (the start
// script) and, for postgres and mysql, a readiness probe that asks the
// server.
func processResource(s *evalState, db *model.Database) *model.Resource {
	r := &model.Resource{
		Name:        db.Name,
		Kind:        model.KindService,
		Dir:         s.project.Dir,
		Labels:      []string{"database"},
		Trigger:     model.TriggerAuto,
		AutoStart:   true,
		Ports:       []int{db.Port},
		StopSignal:  "SIGINT",
		StopTimeout: 30 * time.Second,
		Restart:     model.RestartOnChange,
		Readiness: &model.Probe{Kind: model.ProbeTCP, Addr: "127.0.0.1:" + strconv.Itoa(db.Port),
			Period: model.DefaultProbePeriod, Timeout: model.DefaultProbeTimeout},
	}
	if db.Engine == "mysql" {
		r.StopSignal = "SIGTERM"
	}
	if db.Seed != "" {
		r.Deps = []string{db.Seed}
	}
	return r
}

// declareDBContainer desugars a container-mode database into container():
// the official image with the user and database in its environment (the
// password and redis's --requirepass come from database.Prepare), the data
// in a named volume, a readiness probe run inside the container and the seed
// mounted into /docker-entrypoint-initdb.d/.
func declareDBContainer(thread *starlark.Thread, a *args, db *model.Database) (starlark.Value, error) {
	s := stateOf(thread)
	version := db.Version
	if version == "" {
		version = "latest"
	}
	img := database.ImageOf(db)
	image, env := db.Engine+":"+version, map[string]string{}
	switch db.Engine {
	case "postgres":
		env = map[string]string{"POSTGRES_USER": db.User, "POSTGRES_DB": db.DB}
	case "mysql":
		env = map[string]string{"MYSQL_USER": db.User, "MYSQL_DATABASE": db.DB, "MYSQL_RANDOM_ROOT_PASSWORD": "yes"}
	}
	envDict := starlark.NewDict(len(env))
	for k, v := range env {
		envDict.SetKey(starlark.String(k), starlark.String(v))
	}
	volumes := []starlark.Value{starlark.String(database.Volume(db.Name) + ":" + img.Data)}
	if db.Seed != "" && db.Engine != "redis" {
		volumes = append(volumes, starlark.String(db.Seed+":/docker-entrypoint-initdb.d/seed.sql:ro"))
	}
	ready := &probeValue{probe: model.Probe{Kind: model.ProbeExec, Cmd: img.Ready,
		Period: 250 * time.Millisecond, Timeout: 5 * time.Second}}
	str := func(v string) starlark.Value { return starlark.String(v) }
	kwargs := []starlark.Tuple{
		{str("name"), str(db.Name)},
		{str("image"), str(image)},
		{str("env"), envDict},
		{str("ports"), starlark.NewList([]starlark.Value{str(fmt.Sprintf("%d:%d", db.Port, img.Port))})},
		{str("volumes"), starlark.NewList(volumes)},
		{str("readiness"), ready},
		{str("labels"), starlark.NewList([]starlark.Value{str("database")})},
		{str("stop_signal"), str(img.StopSignal)},
		{str("stop_timeout"), str("30s")},
		{str("deps"), starlark.NewList(nil)},
	}
	v, err := starlark.Call(thread, containerBuiltin.value(), nil, kwargs)
	if err != nil {
		return nil, a.errorAt("runtime", `use runtime="process"`, "database: %v", err)
	}
	s.project.Databases = append(s.project.Databases, db)
	return v, nil
}
