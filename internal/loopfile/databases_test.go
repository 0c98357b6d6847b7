package loopfile

import (
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
