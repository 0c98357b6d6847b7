//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// postgresImage is the image database(runtime="container", version="15")
// runs. Nothing can be pulled here: scripts/standin-postgres.sh builds a
// stand-in from Debian's PostgreSQL 15 when the real image is absent.
const postgresImage = "postgres:15"

// requirePostgresImage skips without the postgres:15 image, and fails
// instead when LOOP_REQUIRE_DOCKER=1 (CI).
func requirePostgresImage(t *testing.T) {
	t.Helper()
	requireImage(t, postgresImage, "scripts/standin-postgres.sh")
}

// requireImage skips without image, and fails instead when
// LOOP_REQUIRE_DOCKER=1 (CI); script builds a stand-in.
func requireImage(t *testing.T, image, script string) {
	t.Helper()
	if out, err := dockerCmd("image", "inspect", "--format", "{{.Id}}", image); err != nil {
		reason := "the image " + image + " is missing (" + script + " builds a stand-in): " + out
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("LOOP_REQUIRE_DOCKER=1 but %s", reason)
		}
		t.Skip(reason)
	}
}

// TestDatabase_containerPostgres runs database(runtime="container") on the
// Docker engine: a dependant starts only once the server answers queries
// (it fails otherwise), the seed is applied, loop db snapshot/restore/reset
// work through the container, the data volume survives loop down and is
// deleted by loop down --volumes.
func TestDatabase_containerPostgres(t *testing.T) {
	requireDocker(t)
	requirePostgresImage(t)
	bin := requirePostgres(t) // the host's psql, as a client
	e := newDockerEnv(t, "dbc")
	project := filepath.Base(e.dir)
	volume := project + "_db-data"
	port := freePort(t)
	e.write("seed.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n")
	// No retry in the dependant: it fails unless the server already
	// accepts queries (and the seed has been applied) when it starts.
	e.write("Loopfile", `database("db", runtime="container", version="15", seed="seed.sql", port=`+strconv.Itoa(port)+`)
task("count", "`+bin+`/psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -tAc 'select count(*) from t'", resource_deps=["db"])
`)
	start := time.Now()
	e.upSeeded(t, "50s")
	t.Logf("up and ready (init and seed included) in %s", time.Since(start).Round(time.Millisecond))
	if got := mustDocker(t, "volume", "inspect", "--format", "{{index .Labels \""+labelProject+"\"}}", volume); got != project {
		t.Errorf("volume %s: label %s = %q, want %q", volume, labelProject, got, project)
	}

	pass, err := os.ReadFile(filepath.Join(e.stateDirOf(t, "db"), "password"))
	if err != nil {
		t.Fatal(err)
	}
	url := "postgres://dev:" + strings.TrimSpace(string(pass)) + "@127.0.0.1:" + strconv.Itoa(port) + "/db?sslmode=disable"
	psql := func(sql string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "psql"), url, "-X", "-v", "ON_ERROR_STOP=1", "-tAc", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v: %s", sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	rows := func() string { t.Helper(); return psql("select string_agg(x::text, ',' order by x) from t") }
	if got := rows(); got != "1" {
		t.Fatalf("after seed: got rows %q, want 1", got)
	}

	// Snapshot: pg_dump -Fc inside the container, written on the host.
	psql("insert into t values (2)")
	start = time.Now()
	snap := strings.TrimSpace(e.mustLoop("db", "snapshot", "db").stdout)
	t.Logf("snapshot in %s", time.Since(start).Round(time.Millisecond))
	dump, err := os.ReadFile(filepath.Join(e.stateDirOf(t, "db"), "snapshots", snap+".dump"))
	if err != nil {
		t.Fatalf("snapshot %q: %v", snap, err)
	}
	if !bytes.HasPrefix(dump, []byte("PGDMP")) {
		t.Fatalf("snapshot %s: not a pg_dump custom-format archive (starts %q)", snap, dump[:min(16, len(dump))])
	}
	psql("insert into t values (3)")
	start = time.Now()
	e.mustLoop("db", "restore", "db", snap)
	t.Logf("restore in %s", time.Since(start).Round(time.Millisecond))
	if got := rows(); got != "1,2" {
		t.Fatalf("after restore: got rows %q, want 1,2 (the snapshot's)", got)
	}

	// Reset: a new volume, initialised and seeded again.
	start = time.Now()
	e.mustLoop("db", "reset", "db")
	t.Logf("reset in %s", time.Since(start).Round(time.Millisecond))
	if got := rows(); got != "1" {
		t.Fatalf("after reset: got rows %q, want 1 (the seed only)", got)
	}

	// The data lives in the volume: it survives loop down (the container
	// is removed) and loop up.
	psql("insert into t values (4)")
	e.mustLoop("down")
	if ids := projectContainers(t, project); len(ids) != 0 {
		t.Fatalf("after loop down, containers are left: %v", ids)
	}
	e.mustLoop("up", "-d")
	e.settled()
	if got := rows(); got != "1,4" {
		t.Fatalf("after down and up: got rows %q, want 1,4 (data kept)", got)
	}

	e.mustLoop("down", "--volumes")
	if out, err := dockerCmd("volume", "inspect", volume); err == nil {
		t.Fatalf("after loop down --volumes, volume %s still exists: %s", volume, out)
	}
}

// TestDatabase_containerRedis runs database(engine="redis",
// runtime="container"): the dependant reaches it through REDIS_URL once
// redis-cli answers PONG inside the container, the data (saved on stop)
// survives loop down in its volume, and loop db reset empties it.
func TestDatabase_containerRedis(t *testing.T) {
	requireDocker(t)
	requireImage(t, "redis:7", "scripts/standin-redis.sh")
	e := newDockerEnv(t, "rdc")
	port := freePort(t)
	// The dependant is a container too: its REDIS_URL names the database
	// on the project's network (cache:6379), not the host's published port.
	e.write("Loopfile", `database("cache", engine="redis", runtime="container", version="7", port=`+strconv.Itoa(port)+`)
container("ping", image="redis:7", cmd=["sh", "-c", "echo at ${REDIS_URL#*@}; redis-cli --no-auth-warning -u \"$REDIS_URL\" ping | grep -x PONG && touch /tmp/pong && exec sleep 3600"],
          readiness=exec_probe(["test", "-f", "/tmp/pong"]), resource_deps=["cache"])
`)
	e.mustLoop("up", "-d")
	e.settled()
	if r := e.mustLoop("logs", "ping"); !strings.Contains(r.stdout, "PONG") || !strings.Contains(r.stdout, "at cache:6379/0") {
		t.Errorf("the dependant did not reach redis at cache:6379 through REDIS_URL:\n%s", r.stdout)
	}
	// On the host, the published port.
	out, err := exec.Command(requireRedisCLI(t), "--no-auth-warning", "-p", strconv.Itoa(port), "-a", e.exec("cache", "sh", "-c", "printf %s \"$REDISCLI_AUTH\""), "ping").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "PONG" {
		t.Errorf("redis-cli on the host, port %d: %s %v", port, out, err)
	}
	redis := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(e.exec("cache", append([]string{"sh", "-c", `REDISCLI_AUTH="$REDISCLI_AUTH" redis-cli "$@"`, "redis-cli"}, args...)...))
	}
	e.checkRedisData(t, redis)
	network := "loop-" + filepath.Base(e.dir)
	if out, err := dockerCmd("network", "inspect", "--format", "{{.Name}}", network); err != nil {
		t.Errorf("the project's network %s: %v %s", network, err, out)
	}
	e.mustLoop("down", "--volumes")
	if out, err := dockerCmd("network", "inspect", network); err == nil {
		t.Errorf("the project's network is left after loop down: %s", out)
	}
}

// requireRedisCLI returns the host's redis-cli (scripts/setup-redis.sh
// installs it): skipped without it, failed under LOOP_REQUIRE_DOCKER=1.
func requireRedisCLI(t *testing.T) string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatal("redis-cli is not installed: run scripts/setup-redis.sh")
		}
		t.Skip("redis-cli is not installed; scripts/setup-redis.sh installs it")
	}
	return cli
}

// TestDatabase_containerMySQL runs database(engine="mysql",
// runtime="container"): a dependant on the host that connects once, with
// the credentials of DATABASE_URL, only starts when mysqladmin ping
// answers inside the container and the seed is applied; loop db snapshot
// and restore work through the container; the data volume survives loop
// down; loop db reset starts over from the seed.
func TestDatabase_containerMySQL(t *testing.T) {
	requireDocker(t)
	requireImage(t, "mysql:8", "scripts/standin-mysql.sh")
	client := requireMariaDB(t) // the host's client
	e := newDockerEnv(t, "myc")
	port := freePort(t)
	e.write("seed.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n")
	e.write("Loopfile", `database("db", engine="mysql", runtime="container", version="8", seed="seed.sql", port=`+strconv.Itoa(port)+`)
`+mysqlCountTask(client, port))
	start := time.Now()
	e.upSeeded(t, "90s")
	t.Logf("up and ready (init and seed included) in %s", time.Since(start).Round(time.Millisecond))
	// snapshot and restore run mysqldump and mysql inside the container;
	// the data lives in the volume across down and up.
	e.checkSQLData(t, e.mysqlSQL(t, client, port), "select group_concat(x order by x) from t", "90s")
	e.mustLoop("down", "--volumes")
}
