package database_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/database"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// prepared evaluates files (written to dir) and prepares the model under
// state, as loopd does.
func prepared(t *testing.T, dir string, files map[string]string, state string) (*model.Project, error) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := loopfile.Load(context.Background(), filepath.Join(dir, "Loopfile"),
		loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p, database.Prepare(p, state)
}

func TestPrepare_processPostgres(t *testing.T) {
	if _, err := database.PostgresBin(""); err != nil {
		t.Skipf("no PostgreSQL here: %v", err)
	}
	state, dir := t.TempDir(), t.TempDir()
	files := map[string]string{
		"Loopfile": `task("check", "true", resource_deps=["db"])
database("db", seed="seed.sql", port=6001)
service("late", "sleep 1", resource_deps=["db"], env={"PGUSER": "me"})
`,
		"seed.sql": "create table t (x int);",
	}
	p, err := prepared(t, dir, files, state)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	db := p.Resource("db")
	if db == nil || len(p.Databases) != 1 {
		t.Fatalf("no db resource: %+v", p.Resources)
	}
	if got, want := db.Cmd[1], filepath.Join(state, "db", "db", "start.sh"); got != want {
		t.Errorf("cmd script: got %s, want %s", got, want)
	}
	if _, err := os.Stat(db.Cmd[1]); err != nil {
		t.Errorf("start.sh: %v", err)
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
	info, err := database.ReadInfo(database.Dir(state, "db"))
	if err != nil {
		t.Fatalf("db.json: %v", err)
	}
	if info.Engine != "postgres" || info.URL != want || info.Data != filepath.Join(state, "db", "db", "data") {
		t.Errorf("db.json: got %+v", info)
	}
	// The password is kept across evaluations, and a second preparation
	// gives the same resources (a reload restarts nothing).
	p2, err := prepared(t, dir, files, state)
	if err != nil {
		t.Fatal(err)
	}
	if got := p2.Resource("check").Env["DATABASE_URL"]; got != want {
		t.Errorf("second evaluation: got %q, want %q", got, want)
	}
	if !p2.Resource("db").Equal(db) {
		t.Errorf("second preparation changed the resource:\n%+v\n%+v", p2.Resource("db"), db)
	}
}

// A database whose engine is not installed fails at its database() call.
func TestPrepare_missingEngine(t *testing.T) {
	p, err := prepared(t, t.TempDir(), map[string]string{"Loopfile": "\ndatabase(\"db\", version=\"0.1\")\n"}, t.TempDir())
	var derr *database.Error
	if !errors.As(err, &derr) {
		t.Fatalf("got %v, want a *database.Error", err)
	}
	if derr.Pos.Line != 2 || !strings.Contains(derr.Msg, "PostgreSQL 0.1 is not installed") || !strings.Contains(derr.Hint, "runtime=\"container\"") {
		t.Errorf("got %+v, want line 2, PostgreSQL 0.1 is not installed, and a hint", derr)
	}
	if p.Resource("db").Cmd != nil {
		t.Errorf("cmd set on a failed preparation: %v", p.Resource("db").Cmd)
	}
}

func TestDefaultPort(t *testing.T) {
	if a, b := database.DefaultPort("db"), database.DefaultPort("db"); a != b || a < 5433 || a > 6432 {
		t.Errorf("got %d, %d", a, b)
	}
}

func TestPrepare_container(t *testing.T) {
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
			p, err := prepared(t, t.TempDir(), files, state)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
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
			b, err := os.ReadFile(filepath.Join(state, "db", "db", "password"))
			if err != nil {
				t.Fatal(err)
			}
			pass := strings.TrimSpace(string(b))
			for k, v := range tt.env {
				if got := r.Env[k]; got != v {
					t.Errorf("env %s: got %q, want %q", k, got, v)
				}
			}
			key := map[string]string{"postgres": "POSTGRES_PASSWORD", "mysql": "MYSQL_PASSWORD", "redis": "REDISCLI_AUTH"}[tt.engine]
			if got := r.Env[key]; got != pass {
				t.Errorf("%s: got %q, want the password", key, got)
			}
			if tt.engine == "redis" && !slices.Equal(c.Cmd, []string{"redis-server", "--requirepass", pass}) {
				t.Errorf("redis cmd: got %q, want redis-server --requirepass PASSWORD", c.Cmd)
			}
			if got := p.Resource("check").Env["DB_URL"]; !strings.Contains(got, pass+"@127.0.0.1:6002") {
				t.Errorf("dependant DB_URL: got %q", got)
			}
			// A dependant in a container reaches it on the project's
			// network, by name and the engine's own port.
			port := map[string]string{"postgres": "5432", "mysql": "3306", "redis": "6379"}[tt.engine]
			app := p.Resource("app").Env
			if got := app["DB_URL"]; !strings.Contains(got, pass+"@db:"+port) {
				t.Errorf("container dependant DB_URL: got %q, want db:%s", got, port)
			}
			if tt.engine == "postgres" && (app["PGHOST"] != "db" || app["PGPORT"] != "5432") {
				t.Errorf("container dependant PGHOST/PGPORT: got %s:%s, want db:5432", app["PGHOST"], app["PGPORT"])
			}
			info, err := database.ReadInfo(database.Dir(state, "db"))
			if err != nil {
				t.Fatalf("db.json: %v", err)
			}
			if info.Runtime != "container" || info.Engine != tt.engine || info.Volume != "db-data" || info.DataPath != tt.data || info.User != "dev" || info.DB != "db" {
				t.Errorf("db.json: got %+v", info)
			}
		})
	}
}

func TestPrepare_processMySQL(t *testing.T) {
	if err := database.MariadbBin(); err != nil {
		t.Skipf("no MariaDB here: %v", err)
	}
	state := t.TempDir()
	files := map[string]string{
		"Loopfile": `database("db", engine="mysql", user="o'brien", seed="seed.sql", port=6003)
task("check", "true", resource_deps=["db"])
`,
		"seed.sql": "create table t (x int);",
	}
	p, err := prepared(t, t.TempDir(), files, state)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
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
