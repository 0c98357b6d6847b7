// Package database makes the self-service databases a Loopfile declares
// with database() ready to run: their layout under loop's state directory
// (<state dir>/db/<name>: password, start.sh, db.json, data/, run/,
// snapshots/), the generated password, the start script of a process-mode
// database (PostgreSQL, MariaDB for engine="mysql", redis) and the
// credentials a container-mode database's image reads.
//
// Evaluation (package loopfile) is pure: database() records the declared
// settings (model.Database) and an ordinary resource without credentials.
// loopd calls Prepare on each evaluated model, in its own process and
// before the engine sees the model, so before any database's command runs:
// Prepare writes the files, finds the engine's binaries, and completes the
// resources (the script as the command, the readiness probe, the image's
// environment) and their dependants' environment (DATABASE_URL, ...).
// `loop db` reads the same layout through Dir and Info.
package database

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// Info is what the state directory of a database holds in db.json: what
// `loop db` needs to reach it.
type Info struct {
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

// InfoFile is the name of the Info file in a database's state directory;
// a process-mode service's cmd is ["sh", <dir>/start.sh].
const InfoFile = "db.json"

// Dir is the state directory of database name under a project's state
// directory.
func Dir(stateDir, name string) string {
	return filepath.Join(stateDir, "db", name)
}

// ReadInfo reads db.json from the database directory dir.
func ReadInfo(dir string) (Info, error) {
	var info Info
	b, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", InfoFile, err)
	}
	return info, nil
}

// Volume is the named volume (before the engine scopes it to the project)
// that holds a container-mode database's data.
func Volume(name string) string { return name + "-data" }

// DefaultPort is the port of database name when port= is not given:
// 5433 + fnv32(name) % 1000 (5432 itself is left to a system cluster).
func DefaultPort(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 5433 + int(h.Sum32()%1000)
}

// Image is how a container-mode database runs its engine's official image.
type Image struct {
	Port       int      // the server's port in the container
	Data       string   // its data directory, a named volume
	Ready      []string // readiness probe, run inside the container
	StopSignal string
}

// ImageOf is the Image of db's engine.
func ImageOf(db *model.Database) Image {
	switch db.Engine {
	case "mysql":
		// mysqladmin ping exits 0 once the server answers, even "access
		// denied"; the init phase's temporary server does not listen on TCP.
		return Image{Port: 3306, Data: "/var/lib/mysql", StopSignal: "SIGTERM",
			Ready: []string{"mysqladmin", "ping", "-h", "127.0.0.1", "--silent"}}
	case "redis":
		// redis-cli exits 0 on an error reply too: ready means PONG. The
		// password comes from REDISCLI_AUTH in the container's env.
		return Image{Port: 6379, Data: "/data", StopSignal: "SIGTERM",
			Ready: []string{"sh", "-c", "redis-cli --no-auth-warning ping | grep -q PONG"}}
	}
	// The image's init phase runs a temporary server with
	// listen_addresses='': TCP answers once the real server runs.
	return Image{Port: 5432, Data: "/var/lib/postgresql/data", StopSignal: "SIGINT",
		Ready: []string{"pg_isready", "-q", "-h", "127.0.0.1", "-U", db.User, "-d", db.DB}}
}

// Error is a database that cannot be prepared (its engine is not
// installed, the state directory is not writable), at its database() call.
type Error struct {
	Pos  model.Position
	Msg  string
	Hint string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Prepare makes every database of p ready to start under stateDir, the
// project's state directory: it keeps (or generates) each password,
// writes the start script and db.json, completes the database's resource
// and gives each resource that lists a database in resource_deps its
// connection environment. It changes p in place; files are written only
// when their content changes, so preparing the same model twice is a no-op.
func Prepare(p *model.Project, stateDir string) error {
	for _, db := range p.Databases {
		r := p.Resource(db.Name)
		if r == nil {
			return fmt.Errorf("database %s: no resource of that name", db.Name)
		}
		if err := prepare(db, r, stateDir); err != nil {
			return err
		}
	}
	resolveDependants(p)
	return nil
}

func prepare(db *model.Database, r *model.Resource, stateDir string) error {
	fail := func(hint string, err error) error {
		return &Error{Pos: db.Pos, Msg: "database: " + err.Error(), Hint: hint, Err: err}
	}
	db.Dir = Dir(stateDir, db.Name)
	pass, err := password(db.Dir)
	if err != nil {
		return fail("check the permissions of loop's state directory", err)
	}
	db.Password = pass
	db.URL = connURL(db, "127.0.0.1:"+strconv.Itoa(db.Port))
	if db.Runtime != "container" {
		if err := prepareProcess(db, r); err != nil {
			return fail(hint(db), err)
		}
		return nil
	}
	img := ImageOf(db)
	db.ContainerPort = img.Port
	db.NetURL = connURL(db, db.Name+":"+strconv.Itoa(img.Port))
	if r.Env == nil {
		r.Env = map[string]string{}
	}
	switch db.Engine {
	case "postgres":
		r.Env["POSTGRES_PASSWORD"] = db.Password
	case "mysql":
		r.Env["MYSQL_PASSWORD"] = db.Password
	case "redis":
		r.Env["REDISCLI_AUTH"] = db.Password
		if r.Container != nil {
			r.Container.Cmd = []string{"redis-server", "--requirepass", db.Password}
		}
	}
	info := Info{Engine: db.Engine, Runtime: db.Runtime, URL: db.URL, User: db.User, DB: db.DB,
		Volume: Volume(db.Name), DataPath: img.Data}
	if err := writeInfo(db.Dir, info); err != nil {
		return fail("check the permissions of loop's state directory", err)
	}
	return nil
}

func hint(db *model.Database) string {
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

// resolveDependants adds to every resource the environment of each
// database it depends on. Values the Loopfile sets itself win; with
// several databases the first one listed provides DATABASE_URL and each
// provides <NAME>_DATABASE_URL.
func resolveDependants(p *model.Project) {
	byName := map[string]*model.Database{}
	for _, db := range p.Databases {
		byName[db.Name] = db
	}
	for _, r := range p.Resources {
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

// password returns the password kept in dir, generating it the first time.
func password(dir string) (string, error) {
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

// connURL is db's connection URL through host ("HOST:PORT").
func connURL(db *model.Database, host string) string {
	switch db.Engine {
	case "redis":
		return (&url.URL{Scheme: "redis", User: url.UserPassword("default", db.Password), Host: host, Path: "/0"}).String()
	case "mysql":
		return (&url.URL{Scheme: "mysql", User: url.UserPassword(db.User, db.Password), Host: host, Path: "/" + db.DB}).String()
	}
	return (&url.URL{Scheme: "postgres", User: url.UserPassword(db.User, db.Password), Host: host, Path: "/" + db.DB, RawQuery: "sslmode=disable"}).String()
}

func writeInfo(dir string, info Info) error {
	j, _ := json.MarshalIndent(info, "", "  ")
	return writeIfChanged(filepath.Join(dir, InfoFile), j, 0o600)
}
