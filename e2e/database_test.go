//go:build linux

package e2e

import (
	"fmt"
	"net"
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
	e.upSeeded(t, "90s")
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
	e.checkSQLData(t, psql, "select string_agg(x::text, ',' order by x) from t", "90s")
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

// requireMariaDB skips without MariaDB's server and clients, unless CI
// requires them (scripts/setup-mysql.sh installs them).
func requireMariaDB(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("mariadbd")
	if err != nil {
		_, err = os.Stat("/usr/sbin/mariadbd")
	}
	client, cerr := exec.LookPath("mariadb")
	if err != nil || cerr != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatal("MariaDB is not installed: run scripts/setup-mysql.sh")
		}
		t.Skip("MariaDB is not installed (mariadbd, mariadb); scripts/setup-mysql.sh installs it")
	}
	return client
}

// TestDatabase_processMySQL runs database(engine="mysql") with Debian's
// MariaDB: system tables, user, database and seed on first start,
// DATABASE_URL for a dependant that only starts once the server answers,
// snapshot, restore, reset, data kept across loop down/up.
func TestDatabase_processMySQL(t *testing.T) {
	client := requireMariaDB(t)
	e := newEnv(t, "mysqlproj")
	port := freePort(t)
	e.write("seed.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n")
	// The dependant connects once, with the credentials of DATABASE_URL
	// (mysql://USER:PASS@127.0.0.1:PORT/DB): it fails unless the server
	// answers and the seed is applied when it starts.
	e.write("Loopfile", `database("db", engine="mysql", seed="seed.sql", port=`+strconv.Itoa(port)+`)
`+mysqlCountTask(client, port))
	start := time.Now()
	e.upSeeded(t, "50s")
	t.Logf("up and ready (install, seed included) in %s", time.Since(start).Round(time.Millisecond))
	e.checkSQLData(t, e.mysqlSQL(t, client, port), "select group_concat(x order by x) from t", "50s")
	e.mustLoop("down")
}

// TestDatabase_processRedis runs database(engine="redis") with Debian's
// redis-server: REDIS_URL (with the generated password) for a dependant,
// data saved across loop down/up, and loop db reset emptying it.
func TestDatabase_processRedis(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if _, serr := exec.LookPath("redis-server"); err != nil || serr != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatal("redis is not installed: run scripts/setup-redis.sh")
		}
		t.Skip("redis is not installed (redis-server, redis-cli); scripts/setup-redis.sh installs it")
	}
	e := newEnv(t, "redisproj")
	port := freePort(t)
	e.write("Loopfile", `database("cache", engine="redis", port=`+strconv.Itoa(port)+`)
task("ping", "`+cli+` --no-auth-warning -u \"$REDIS_URL\" ping | grep -x PONG", resource_deps=["cache"])
`)
	e.mustLoop("up", "-d")
	e.settled()
	if r := e.mustLoop("logs", "ping"); !strings.Contains(r.stdout, "PONG") {
		t.Errorf("the dependant did not reach redis through REDIS_URL:\n%s", r.stdout)
	}
	pass, err := os.ReadFile(filepath.Join(e.stateDirOf(t, "cache"), "password"))
	if err != nil {
		t.Fatal(err)
	}
	redis := func(args ...string) string {
		t.Helper()
		argv := append([]string{"--no-auth-warning", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-a", strings.TrimSpace(string(pass))}, args...)
		out, err := exec.Command(cli, argv...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	e.checkRedisData(t, redis)
	e.mustLoop("down")

	// A port conflict is a clear error that names database()'s port=.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	e.write("Loopfile", `database("cache", engine="redis", port=`+strconv.Itoa(busy)+`)`+"\n")
	e.mustLoop("up", "-d")
	r := e.loop("wait", "--timeout", "20s")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("port %d is already in use", busy)) || !strings.Contains(r.stdout+r.stderr, "port= of a database()") {
		t.Errorf("loop wait with the database's port taken: want an error naming the port and port=, got %s", r)
	}
	e.mustLoop("down")
}

// mysqlCountTask is a task that connects once, with the credentials of
// DATABASE_URL (mysql://USER:PASS@127.0.0.1:PORT/DB), and prints count(*)
// of table t: it fails unless the server answers and the seed is applied
// when it starts.
func mysqlCountTask(client string, port int) string {
	return `task("count", """
u=${DATABASE_URL#mysql://}
` + client + ` --no-defaults -h 127.0.0.1 -P ` + strconv.Itoa(port) + ` -u "${u%%:*}" -p"$(echo "$u" | sed 's/^[^:]*:\\([^@]*\\)@.*/\\1/')" -N -e 'select count(*) from t' "${u##*/}"
""", resource_deps=["db"])
`
}

// mysqlSQL returns a function that runs a query as user dev on database
// db (its generated password from the state dir) on 127.0.0.1:port.
func (e *loopEnv) mysqlSQL(t *testing.T, client string, port int) func(q string) string {
	pass, err := os.ReadFile(filepath.Join(e.stateDirOf(t, "db"), "password"))
	if err != nil {
		t.Fatal(err)
	}
	return func(q string) string {
		t.Helper()
		out, err := exec.Command(client, "--no-defaults", "-h", "127.0.0.1", "-P", strconv.Itoa(port), "-u", "dev",
			"-p"+strings.TrimSpace(string(pass)), "-N", "-e", q, "db").CombinedOutput()
		if err != nil {
			t.Fatalf("mariadb %q: %v: %s", q, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

// checkRedisData checks, through redis (a redis-cli), that a key set in
// database "cache" survives loop down and up, and that loop db reset
// removes it.
func (e *loopEnv) checkRedisData(t *testing.T, redis func(args ...string) string) {
	t.Helper()
	redis("SET", "k", "kept")
	e.mustLoop("down")
	e.mustLoop("up", "-d")
	e.settled()
	if got := redis("GET", "k"); got != "kept" {
		t.Fatalf("after down and up: GET k = %q, want kept (saved on shutdown)", got)
	}
	e.mustLoop("db", "reset", "cache")
	if got := redis("GET", "k"); got != "" {
		t.Fatalf("after reset: GET k = %q, want nothing", got)
	}
}

// upSeeded runs loop up and loop wait on a project whose task "count"
// depends on database "db" and prints count(*) of its seeded table t.
func (e *loopEnv) upSeeded(t *testing.T, timeout string) {
	t.Helper()
	e.mustLoop("up", "-d")
	e.mustLoop("wait", "--timeout", timeout)
	if got := e.resource("count").State; got != "ready" {
		t.Fatalf("count task: got %s, want ready", got)
	}
	if r := e.mustLoop("logs", "count"); !strings.Contains(r.stdout, "1") {
		t.Errorf("the dependant's output does not show the seed's row count:\n%s", r.stdout)
	}
}

// checkSQLData drives database "db", seeded with table t holding 1,
// through loop db snapshot, restore and reset and a loop down and up.
// sql runs a statement; rowsQuery lists t's rows comma-separated in order.
func (e *loopEnv) checkSQLData(t *testing.T, sql func(string) string, rowsQuery, timeout string) {
	t.Helper()
	rows := func() string { t.Helper(); return sql(rowsQuery) }
	if got := rows(); got != "1" {
		t.Fatalf("after seed: got rows %q, want 1", got)
	}
	sql("insert into t values (2)")
	snap := strings.TrimSpace(e.mustLoop("db", "snapshot", "db").stdout)
	sql("insert into t values (3)")
	e.mustLoop("db", "restore", "db", snap)
	if got := rows(); got != "1,2" {
		t.Fatalf("after restore: got rows %q, want 1,2 (the snapshot's)", got)
	}
	e.mustLoop("db", "reset", "db")
	if got := rows(); got != "1" {
		t.Fatalf("after reset: got rows %q, want 1 (initialised and seeded again)", got)
	}
	sql("insert into t values (2)")
	e.mustLoop("down")
	e.mustLoop("up", "-d")
	e.mustLoop("wait", "--timeout", timeout)
	if got := rows(); got != "1,2" {
		t.Fatalf("after down and up: got rows %q, want 1,2 (data kept, seed not applied again)", got)
	}
}

// TestDatabase_missingEngine: loopd prepares databases after evaluation
// (evaluation is pure); a database whose engine is not installed is still a
// Loopfile error at its database() line, with the hint, and nothing starts.
func TestDatabase_missingEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "dbmissing")
	e.write("Loopfile", "task(\"uses\", \"touch started\", resource_deps=[\"db\"])\ndatabase(\"db\", version=\"0.1\")\n")
	r := e.loop("up", "-d")
	if r.code == 0 {
		t.Fatalf("loop up with PostgreSQL 0.1: want a non-zero exit, got %s", r)
	}
	loc := filepath.Join(e.dir, "Loopfile") + ":2:"
	for _, want := range []string{loc, "PostgreSQL 0.1 is not installed", `runtime="container"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("loop up: want %q in the error; got %s", want, r)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "started")); err == nil {
		t.Errorf("the dependant started without its database")
	}
}
