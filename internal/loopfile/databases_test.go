package loopfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestDatabase_processPostgres(t *testing.T) {
	if _, err := postgresBin(""); err != nil {
		t.Skipf("no PostgreSQL here: %v", err)
	}
	state := t.TempDir()
	files := map[string]string{
		"Loopfile": `task("check", "true", resource_deps=["db"])
database("db", seed="seed.sql", port=6001)
service("late", "sleep 1", resource_deps=["db"], env={"PGUSER": "me"})
`,
		"seed.sql": "create table t (x int);",
	}
	p, _, err := fixture(t, files, Options{StateDir: state})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	db := p.Resource("db")
	if db == nil || len(p.Databases) != 1 {
		t.Fatalf("no db resource: %+v", p.Resources)
	}
	if got, want := db.Cmd[1], filepath.Join(state, "db", "db", "start.sh"); got != want {
		t.Errorf("cmd script: got %s, want %s", got, want)
	}
	// pg_isready, not a TCP probe: PostgreSQL accepts connections before it
	// accepts queries.
	if r := db.Readiness; r.Kind != model.ProbeExec || filepath.Base(r.Cmd[0]) != "pg_isready" || !slices.Contains(r.Cmd, "6001") {
		t.Errorf("readiness: got %+v, want pg_isready on port 6001", r)
	}
	pass, err := os.ReadFile(filepath.Join(state, "db", "db", "password"))
	if err != nil {
		t.Fatal(err)
	}
	want := "postgres://dev:" + strings.TrimSpace(string(pass)) + "@127.0.0.1:6001/db?sslmode=disable"
	for _, name := range []string{"check", "late"} {
		if got := p.Resource(name).Env["DATABASE_URL"]; got != want {
			t.Errorf("%s DATABASE_URL: got %q, want %q", name, got, want)
		}
	}
	if got := p.Resource("late").Env["PGUSER"]; got != "me" {
		t.Errorf("explicit env overwritten: PGUSER=%q", got)
	}
	// The password is kept across evaluations.
	p2, _, err := fixture(t, files, Options{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if got := p2.Resource("check").Env["DATABASE_URL"]; got != want {
		t.Errorf("second evaluation: got %q, want %q", got, want)
	}
}

func TestDatabase_errors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`database("db", engine="oracle")`, "engine"},
		{`database("db", seed="missing.sql")`, "seed file"},
		{`database("db", port=70000)`, "out of range"},
		{"service(\"db\", \"true\")\ndatabase(\"db\")", "duplicate resource name"},
	}
	for _, tt := range tests {
		_, _, err := fixture(t, map[string]string{"Loopfile": tt.src}, Options{StateDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.src, err, tt.want)
		}
	}
}

func TestDefaultDatabasePort(t *testing.T) {
	if a, b := DefaultDatabasePort("db"), DefaultDatabasePort("db"); a != b || a < 5433 || a > 6432 {
		t.Errorf("got %d, %d", a, b)
	}
}

func TestDatabase_container(t *testing.T) {
	tests := []struct {
		engine, image, data, signal, ready string
		env                                map[string]string
	}{
		{"postgres", "postgres:15", "/var/lib/postgresql/data", "SIGINT",
			"pg_isready -q -h 127.0.0.1 -U dev -d db", map[string]string{"POSTGRES_USER": "dev", "POSTGRES_DB": "db"}},
		{"mysql", "mysql:15", "/var/lib/mysql", "SIGTERM",
			"mysqladmin ping -h 127.0.0.1 --silent", map[string]string{"MYSQL_USER": "dev", "MYSQL_DATABASE": "db"}},
		{"redis", "redis:15", "/data", "SIGTERM",
			"sh -c redis-cli --no-auth-warning ping | grep -q PONG", nil},
	}
	for _, tt := range tests {
		t.Run(tt.engine, func(t *testing.T) {
			state := t.TempDir()
			files := map[string]string{
				"Loopfile": `database("db", engine="` + tt.engine + `", runtime="container", version="15", seed="seed.sql", port=6002)
task("check", "true", resource_deps=["db"])
container("app", image="busybox", resource_deps=["db"])
`,
				"seed.sql": "create table t (x int);",
			}
			p, _, err := fixture(t, files, Options{StateDir: state})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			r := p.Resource("db")
			if r == nil || r.Container == nil {
				t.Fatalf("no container resource db: %+v", p.Resources)
			}
			c := r.Container
			if c.Image != tt.image {
				t.Errorf("image: got %s, want %s", c.Image, tt.image)
			}
			if len(c.Volumes) == 0 || c.Volumes[0] != (model.Volume{Source: "db-data", Target: tt.data, Named: true}) {
				t.Errorf("volumes: got %+v, want the named volume db-data on %s first", c.Volumes, tt.data)
			}
			seeded := slices.ContainsFunc(c.Volumes, func(v model.Volume) bool {
				return v.Target == "/docker-entrypoint-initdb.d/seed.sql" && v.ReadOnly && !v.Named
			})
			if want := tt.engine != "redis"; seeded != want {
				t.Errorf("seed mounted: got %v, want %v (%+v)", seeded, want, c.Volumes)
			}
			if r.Readiness == nil || r.Readiness.Kind != model.ProbeExec || strings.Join(r.Readiness.Cmd, " ") != tt.ready {
				t.Errorf("readiness: got %+v, want exec %q", r.Readiness, tt.ready)
			}
			if r.StopSignal != tt.signal {
				t.Errorf("stop signal: got %s, want %s", r.StopSignal, tt.signal)
			}
			pass, err := os.ReadFile(filepath.Join(state, "db", "db", "password"))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.env {
				if got := r.Env[k]; got != v {
					t.Errorf("env %s: got %q, want %q", k, got, v)
				}
			}
			if tt.engine == "redis" {
				if got := r.Env["REDISCLI_AUTH"]; got != strings.TrimSpace(string(pass)) {
					t.Errorf("REDISCLI_AUTH: got %q, want the password", got)
				}
			}
			if got := p.Resource("check").Env["DB_URL"]; !strings.Contains(got, strings.TrimSpace(string(pass))+"@127.0.0.1:6002") {
				t.Errorf("dependant DB_URL: got %q", got)
			}
			// A dependant in a container reaches it on the project's
			// network, by name and the engine's own port.
			port := map[string]string{"postgres": "5432", "mysql": "3306", "redis": "6379"}[tt.engine]
			app := p.Resource("app").Env
			if got := app["DB_URL"]; !strings.Contains(got, strings.TrimSpace(string(pass))+"@db:"+port) {
				t.Errorf("container dependant DB_URL: got %q, want db:%s", got, port)
			}
			if tt.engine == "postgres" && (app["PGHOST"] != "db" || app["PGPORT"] != "5432") {
				t.Errorf("container dependant PGHOST/PGPORT: got %s:%s, want db:5432", app["PGHOST"], app["PGPORT"])
			}
			b, err := os.ReadFile(filepath.Join(state, "db", "db", DatabaseInfoFile))
			if err != nil {
				t.Fatalf("db.json: %v", err)
			}
			var info DatabaseInfo
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatal(err)
			}
			if info.Runtime != "container" || info.Engine != tt.engine || info.Volume != "db-data" || info.DataPath != tt.data || info.User != "dev" || info.DB != "db" {
				t.Errorf("db.json: got %+v", info)
			}
		})
	}
}

func TestDatabase_processMySQL(t *testing.T) {
	if _, err := mariadbBin(); err != nil {
		t.Skipf("no MariaDB here: %v", err)
	}
	state := t.TempDir()
	files := map[string]string{
		"Loopfile": `database("db", engine="mysql", user="o'brien", seed="seed.sql", port=6003)
task("check", "true", resource_deps=["db"])
`,
		"seed.sql": "create table t (x int);",
	}
	p, _, err := fixture(t, files, Options{StateDir: state})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	db := p.Resource("db")
	if got, want := db.Cmd[1], filepath.Join(state, "db", "db", "start.sh"); got != want {
		t.Errorf("cmd script: got %s, want %s", got, want)
	}
	// mariadb-admin ping over TCP: the seed runs with networking off.
	if r := db.Readiness; r == nil || r.Kind != model.ProbeExec || filepath.Base(r.Cmd[0]) != "mariadb-admin" || !slices.Contains(r.Cmd, "6003") {
		t.Errorf("readiness: got %+v, want mariadb-admin ping on port 6003", r)
	}
	if db.StopSignal != "SIGTERM" {
		t.Errorf("stop signal: got %s, want SIGTERM", db.StopSignal)
	}
	script, err := os.ReadFile(db.Cmd[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--skip-networking", "--bind-address=127.0.0.1", "--port=6003", `CREATE USER IF NOT EXISTS 'o\'brien'@'%'`, "seed.sql"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("start.sh does not contain %q:\n%s", want, script)
		}
	}
	if got := p.Resource("check").Env["DATABASE_URL"]; !strings.HasPrefix(got, "mysql://o%27brien:") || !strings.HasSuffix(got, "@127.0.0.1:6003/db") {
		t.Errorf("DATABASE_URL: got %q", got)
	}
}
