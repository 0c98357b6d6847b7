package loopfile

// The databases plugin: database() declares a self-service database and
// desugars it into an ordinary resource of the project: in process mode a
// service whose cmd is a generated shell script (initdb once, seed once,
// then exec the server), in container mode a container(). Dependants (the
// resources that list the database in resource_deps) get its connection
// URL in their environment, wherever and however they are declared
// (service, task, container, compose, devcontainer): resolveDatabases runs
// after evaluation.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/model"
	"go.starlark.net/starlark"
)

var databaseParams = []string{
	"name", "engine?", "version?", "runtime?", "port?", "seed?", "user?", "db?",
}

// Database engines and runtimes.
var (
	dbEngines  = []string{"postgres", "redis", "mysql"}
	dbRuntimes = []string{"process", "container"}
)

// DatabaseInfo is what the state directory of a database holds in
// db.json: what `loop db` needs to reach it.
type DatabaseInfo struct {
	Engine  string `json:"engine"`
	Runtime string `json:"runtime,omitempty"` // "container"; "" is process mode
	URL     string `json:"url"`
	User    string `json:"user,omitempty"`
	DB      string `json:"db,omitempty"`

	// Process mode.
	Bin    string `json:"bin,omitempty"`    // directory of the engine's binaries
	Data   string `json:"data,omitempty"`   // data directory
	Marker string `json:"marker,omitempty"` // exists once the seed has been applied

	// Container mode: the named volume (unscoped: the engine names it
	// <project>_<volume>) mounted on DataPath.
	Volume   string `json:"volume,omitempty"`
	DataPath string `json:"data_path,omitempty"`
}

// DatabaseInfoFile is the name of the DatabaseInfo file in a database's
// state directory (<state dir>/db/<name>); a process-mode service's cmd is
// ["sh", <dir>/start.sh].
const DatabaseInfoFile = "db.json"

// DatabaseDir is the state directory of database name under a project's
// state directory.
func DatabaseDir(stateDir, name string) string {
	return filepath.Join(stateDir, "db", name)
}

// registerDatabases registers database().
func registerDatabases(env starlark.StringDict) {
	env["database"] = starlark.NewBuiltin("database", builtinDatabase)
}

// resolveDatabases adds to every resource the environment of each database
// it depends on. Values the Loopfile sets itself win; with several
// databases the first one listed provides DATABASE_URL and each provides
// <NAME>_DATABASE_URL.
func (s *evalState) resolveDatabases() {
	byName := map[string]*model.Database{}
	for _, db := range s.project.Databases {
		byName[db.Name] = db
	}
	for _, r := range s.project.Resources {
		for _, dep := range r.ResourceDeps {
			db, ok := byName[dep]
			if !ok {
				continue
			}
			if r.Env == nil {
				r.Env = map[string]string{}
			}
			inContainer := r.Kind == model.KindContainer
			env := db.Env(inContainer)
			if inContainer && db.NetURL != "" {
				env[envName(db.Name)+"_URL"] = db.NetURL
			} else {
				env[envName(db.Name)+"_URL"] = db.URL
			}
			for k, v := range env {
				if _, set := r.Env[k]; !set {
					r.Env[k] = v
				}
			}
		}
	}
}

// envName turns a database name into an environment variable prefix.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// DefaultDatabasePort is the port of database name when port= is not given:
// 5433 + fnv32(name) % 1000 (5432 itself is left to a system cluster).
func DefaultDatabasePort(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 5433 + int(h.Sum32()%1000)
}

// database(name, engine="postgres", ...) declares a database. Returns name.
func builtinDatabase(thread *starlark.Thread, b *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpack(b.Name(), posArgs, kwargs, databaseParams...)
	if err != nil {
		return nil, err
	}
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
	db.Port = DefaultDatabasePort(db.Name)
	if v, ok := a.vals["port"]; ok && a.err == nil {
		if err := starlark.AsInt(v, &db.Port); err != nil {
			a.wrongType("port", v, "int")
		} else if db.Port < 0 || db.Port > 65535 {
			a.fail("port", "", "port %d out of range 1-65535", db.Port)
		} else if db.Port == 0 {
			db.Port = DefaultDatabasePort(db.Name)
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
	db.Dir = DatabaseDir(dbStateRoot(s), db.Name)
	pass, err := dbPassword(db.Dir)
	if err != nil {
		return nil, a.errorAt("name", "check the permissions of loop's state directory", "database: %v", err)
	}
	db.Password = pass
	db.URL = dbURL(db, "127.0.0.1:"+strconv.Itoa(db.Port))
	if db.Runtime == "container" {
		db.ContainerPort = containerImage(db).port
		db.NetURL = dbURL(db, db.Name+":"+strconv.Itoa(db.ContainerPort))
	}

	if db.Runtime == "container" {
		return declareDBContainer(thread, a, db)
	}
	r, err := processResource(s, db)
	if err != nil {
		return nil, a.errorAt("engine", dbHint(db), "database: %v", err)
	}
	v, err := s.declare(thread, a, r)
	if err != nil {
		return nil, err
	}
	s.project.Databases = append(s.project.Databases, db)
	return v, nil
}

func dbHint(db *model.Database) string {
	switch db.Engine {
	case "postgres":
		return "install PostgreSQL (Debian: apt-get install postgresql) or use runtime=\"container\""
	case "redis":
		return "install redis-server or use runtime=\"container\""
	case "mysql":
		return "install MariaDB (Debian: apt-get install mariadb-server, or scripts/setup-mysql.sh) or use runtime=\"container\""
	}
	return `use runtime="container"`
}

// dbStateRoot is the per-project state directory, or a directory in the
// temp dir keyed by the project when evaluation has none.
func dbStateRoot(s *evalState) string {
	if s.opts.StateDir != "" {
		return s.opts.StateDir
	}
	h := fnv.New32a()
	h.Write([]byte(s.project.Dir))
	return filepath.Join(os.TempDir(), fmt.Sprintf("loop-state-%08x", h.Sum32()))
}

// dbPassword returns the password kept in dir, generating it the first time.
func dbPassword(dir string) (string, error) {
	p := filepath.Join(dir, "password")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	buf := make([]byte, 12)
	rand.Read(buf)
	pass := hex.EncodeToString(buf)
	if err := os.WriteFile(p, []byte(pass+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write password: %w", err)
	}
	return pass, nil
}

// dbURL is db's connection URL through host ("HOST:PORT").
func dbURL(db *model.Database, host string) string {
	switch db.Engine {
	case "redis":
		return (&url.URL{Scheme: "redis", User: url.UserPassword("default", db.Password), Host: host, Path: "/0"}).String()
	case "mysql":
		return (&url.URL{Scheme: "mysql", User: url.UserPassword(db.User, db.Password), Host: host, Path: "/" + db.DB}).String()
	}
	return (&url.URL{Scheme: "postgres", User: url.UserPassword(db.User, db.Password), Host: host, Path: "/" + db.DB, RawQuery: "sslmode=disable"}).String()
}

// dbImage is how a container-mode database runs its engine's official
// image.
type dbImage struct {
	port       int      // the server's port in the container
	data       string   // its data directory, a named volume
	ready      []string // readiness probe, run inside the container
	stopSignal string
}

func containerImage(db *model.Database) dbImage {
	switch db.Engine {
	case "mysql":
		// mysqladmin ping exits 0 once the server answers, even "access
		// denied"; the init phase's temporary server does not listen on TCP.
		return dbImage{port: 3306, data: "/var/lib/mysql", stopSignal: "SIGTERM",
			ready: []string{"mysqladmin", "ping", "-h", "127.0.0.1", "--silent"}}
	case "redis":
		// redis-cli exits 0 on an error reply too: ready means PONG. The
		// password comes from REDISCLI_AUTH in the container's env.
		return dbImage{port: 6379, data: "/data", stopSignal: "SIGTERM",
			ready: []string{"sh", "-c", "redis-cli --no-auth-warning ping | grep -q PONG"}}
	}
	// The image's init phase runs a temporary server with
	// listen_addresses='': TCP answers once the real server runs.
	return dbImage{port: 5432, data: "/var/lib/postgresql/data", stopSignal: "SIGINT",
		ready: []string{"pg_isready", "-q", "-h", "127.0.0.1", "-U", db.User, "-d", db.DB}}
}

// DatabaseVolume is the named volume (before the engine scopes it to the
// project) that holds a container-mode database's data.
func DatabaseVolume(name string) string { return name + "-data" }

// declareDBContainer desugars a container-mode database into container():
// the official image with the credentials in its environment, the data in
// a named volume, a readiness probe run inside the container and the seed
// mounted into /docker-entrypoint-initdb.d/.
func declareDBContainer(thread *starlark.Thread, a *args, db *model.Database) (starlark.Value, error) {
	s := stateOf(thread)
	version := db.Version
	if version == "" {
		version = "latest"
	}
	img := containerImage(db)
	image, env := db.Engine+":"+version, map[string]string{}
	switch db.Engine {
	case "postgres":
		env = map[string]string{"POSTGRES_USER": db.User, "POSTGRES_PASSWORD": db.Password, "POSTGRES_DB": db.DB}
	case "mysql":
		env = map[string]string{"MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Password, "MYSQL_DATABASE": db.DB, "MYSQL_RANDOM_ROOT_PASSWORD": "yes"}
	case "redis":
		env = map[string]string{"REDISCLI_AUTH": db.Password}
	}
	envDict := starlark.NewDict(len(env))
	for k, v := range env {
		envDict.SetKey(starlark.String(k), starlark.String(v))
	}
	volumes := []starlark.Value{starlark.String(DatabaseVolume(db.Name) + ":" + img.data)}
	if db.Seed != "" && db.Engine != "redis" {
		volumes = append(volumes, starlark.String(db.Seed+":/docker-entrypoint-initdb.d/seed.sql:ro"))
	}
	ready := &probeValue{probe: model.Probe{Kind: model.ProbeExec, Cmd: img.ready,
		Period: 250 * time.Millisecond, Timeout: 5 * time.Second}}
	str := func(v string) starlark.Value { return starlark.String(v) }
	kwargs := []starlark.Tuple{
		{str("name"), str(db.Name)},
		{str("image"), str(image)},
		{str("env"), envDict},
		{str("ports"), starlark.NewList([]starlark.Value{str(fmt.Sprintf("%d:%d", db.Port, img.port))})},
		{str("volumes"), starlark.NewList(volumes)},
		{str("readiness"), ready},
		{str("labels"), starlark.NewList([]starlark.Value{str("database")})},
		{str("stop_signal"), str(img.stopSignal)},
		{str("stop_timeout"), str("30s")},
		{str("deps"), starlark.NewList(nil)},
	}
	if db.Engine == "redis" {
		kwargs = append(kwargs, starlark.Tuple{str("cmd"), starlark.NewList([]starlark.Value{
			str("redis-server"), str("--requirepass"), str(db.Password)})})
	}
	fn := starlark.NewBuiltin("container", builtinContainer)
	v, err := starlark.Call(thread, fn, nil, kwargs)
	if err != nil {
		return nil, a.errorAt("runtime", `use runtime="process"`, "database: %v", err)
	}
	info := DatabaseInfo{Engine: db.Engine, Runtime: db.Runtime, URL: db.URL, User: db.User, DB: db.DB,
		Volume: DatabaseVolume(db.Name), DataPath: img.data}
	j, _ := json.MarshalIndent(info, "", "  ")
	if err := writeIfChanged(filepath.Join(db.Dir, DatabaseInfoFile), j, 0o600); err != nil {
		return nil, a.errorAt("name", "check the permissions of loop's state directory", "database: %v", err)
	}
	s.project.Databases = append(s.project.Databases, db)
	return v, nil
}
