package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requirePostgres skips without PostgreSQL's binaries, unless CI requires
// them (.ci/run installs them with scripts/setup-postgres.sh).
func requirePostgres(t *testing.T) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(found) == 0 {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatal("PostgreSQL is not installed: run scripts/setup-postgres.sh")
		}
		t.Skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres); scripts/setup-postgres.sh installs it")
	}
	return filepath.Dir(found[len(found)-1])
}

// TestDatabase_processPostgres runs database() with Debian's PostgreSQL:
// seed on first start, DATABASE_URL for a dependant, snapshot, restore,
// reset and data kept across loop down/up.
func TestDatabase_processPostgres(t *testing.T) {
	bin := requirePostgres(t)
	e := newEnv(t, "dbproj")
	port := freePort(t)
	e.write("seed.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n")
	e.write("Loopfile", `database("db", seed="seed.sql", port=`+strconv.Itoa(port)+`)
task("count", "`+bin+`/psql \"$DATABASE_URL\" -tAc 'select count(*) from t'", resource_deps=["db"])
`)
	e.mustLoop("up", "-d")
	e.mustLoop("wait", "--timeout", "90s")
	if got := e.resource("count").State; got != "ready" {
		t.Fatalf("count task: got %s, want ready", got)
	}
	pass, err := os.ReadFile(filepath.Join(e.stateDirOf(t, "db"), "password"))
	if err != nil {
		t.Fatal(err)
	}
	url := "postgres://dev:" + strings.TrimSpace(string(pass)) + "@127.0.0.1:" + strconv.Itoa(port) + "/db?sslmode=disable"
	psql := func(sql string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "psql"), url, "-tAc", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v: %s", sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	count := func() string { t.Helper(); return psql("select count(*) from t") }
	if got := count(); got != "1" {
		t.Fatalf("after seed: got %s rows, want 1", got)
	}
	if r := e.mustLoop("logs", "count"); !strings.Contains(r.stdout, "1") {
		t.Errorf("the task's output does not show the row count:\n%s", r.stdout)
	}

	psql("insert into t values (2)")
	snap := strings.TrimSpace(e.mustLoop("db", "snapshot", "db").stdout)
	psql("insert into t values (3)")
	e.mustLoop("db", "restore", "db", snap)
	if got := count(); got != "2" {
		t.Fatalf("after restore: got %s rows, want 2", got)
	}

	e.mustLoop("db", "reset", "db")
	if got := count(); got != "1" {
		t.Fatalf("after reset: got %s rows, want 1 (seed applied again)", got)
	}

	psql("insert into t values (2)")
	e.mustLoop("down")
	e.mustLoop("up", "-d")
	e.mustLoop("wait", "--timeout", "90s")
	if got := count(); got != "2" {
		t.Fatalf("after down and up: got %s rows, want 2 (data kept)", got)
	}
	e.mustLoop("down")
}

// stateDirOf finds the state directory of database name under LOOP_HOME.
func (e *loopEnv) stateDirOf(t *testing.T, name string) string {
	t.Helper()
	var dir string
	poll(5*time.Second, func() bool {
		found, _ := filepath.Glob(filepath.Join(e.home, "*", "*", "db", name, "password"))
		if len(found) == 0 {
			found, _ = filepath.Glob(filepath.Join(e.home, "*", "db", name, "password"))
		}
		if len(found) > 0 {
			dir = filepath.Dir(found[0])
		}
		return dir != ""
	})
	if dir == "" {
		t.Fatalf("no state directory of database %s under %s", name, e.home)
	}
	return dir
}
