//go:build linux

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCompose_SyncedEdit: `loop up` on a Compose project imported with
// compose(): the service built from the project serves its baked-in
// files, its healthcheck is its readiness, a dependant service starts
// only once it is healthy, and an edit under a
// develop.watch sync+restart path is synced into the running container
// (same container).
func TestCompose_SyncedEdit(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "compose")
	port := freePort(t)
	e.write("web/Dockerfile", "FROM "+baseImage+"\nCOPY www /www\n")
	e.write("web/www/index.html", "v1")
	e.write("compose.yaml", fmt.Sprintf(`
services:
  web:
    build: ./web
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["%d:8080"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/healthy"]
      interval: 100ms
    develop:
      watch:
        - action: sync+restart
          path: ./web/www
          target: /www
  worker:
    image: %s
    command: ["sleep", "3600"]
    environment:
      WEB_URL: http://web:8080/${WEB_PATH:-index.html}
    depends_on: [web]
`, port, baseImage))
	e.write("Loopfile", `compose("compose.yaml")`+"\n")

	// The healthcheck is web's readiness: until it passes, web is not
	// ready and worker (depends_on web) does not start.
	e.mustLoop("up", "-d")
	if r := e.loop("wait", "--timeout", "3s"); r.code == 0 {
		t.Fatalf("loop wait settled before web's healthcheck passed: %s", r)
	}
	if st := e.resource("worker").State; st == "ready" || st == "starting" {
		t.Fatalf("worker is %s before web is healthy; want it held back by depends_on", st)
	}
	mustDocker(t, "exec", e.awaitContainer("web"), "touch", "/tmp/healthy")
	e.settled()
	pollGet(t, port, "v1")
	id := e.containerOf("web")
	if got := strings.TrimSpace(e.exec("worker", "sh", "-c", "echo $WEB_URL")); got != "http://web:8080/index.html" {
		t.Errorf("worker: WEB_URL = %q, want the interpolated default", got)
	}
	// Services reach each other by name on the project's network, as in
	// Compose. (busybox's own resolver: the static busybox cannot use
	// libc's for its other applets.)
	lookup := e.exec("worker", "nslookup", "web")
	m := regexp.MustCompile(`(?m)^Address:\s*(\d+\.\d+\.\d+\.\d+)\s*$`).FindStringSubmatch(lookup) // not the server's "IP:53"
	if m == nil {
		t.Fatalf("worker: nslookup web found no address:\n%s", lookup)
	}
	if got := e.exec("worker", "wget", "-q", "-O-", "http://"+m[1]+":8080/index.html"); got != "v1" {
		t.Errorf("worker: GET http://web:8080/ (%s) = %q, want v1", m[1], got)
	}

	e.write("web/www/index.html", "v2")
	e.settled()
	pollGet(t, port, "v2")
	if got := e.containerOf("web"); got != id {
		t.Fatalf("web: container %.12s after a synced edit, want %.12s (synced, not recreated)", got, id)
	}
}

// pollGet fails the test unless GET / answers want within 10 seconds.
func pollGet(t *testing.T, port int, want string) {
	t.Helper()
	var got string
	var err error
	if !poll(10*time.Second, func() bool { got, err = get(port); return err == nil && got == want }) {
		t.Fatalf("GET :%d/ = %q, %v; want %q", port, got, err, want)
	}
}

// TestCompose_RunOnce: a service another waits for with condition
// service_completed_successfully (a migration) runs to completion like a
// task: its dependant starts after it exited 0, and it is not restarted.
func TestCompose_RunOnce(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "once")
	e.write("compose.yaml", fmt.Sprintf(`
services:
  migrate:
    image: %[1]s
    command: ["sh", "-c", "echo migrating; sleep 1; echo done > /shared/migrated"]
    volumes: ["shared:/shared"]
  app:
    image: %[1]s
    command: ["sh", "-c", "cat /shared/migrated && exec sleep 3600"]
    volumes: ["shared:/shared"]
    depends_on:
      migrate:
        condition: service_completed_successfully
volumes:
  shared: {}
`, baseImage))
	e.write("Loopfile", `compose("compose.yaml")`+"\n")
	e.up()
	m := e.resource("migrate")
	if m.State != "ready" || !strings.Contains(m.Reason, "succeeded") {
		t.Fatalf("migrate: %s (%s), want ready: succeeded", m.State, m.Reason)
	}
	if got := strings.TrimSpace(e.exec("app", "cat", "/shared/migrated")); got != "done" {
		t.Errorf("app sees %q in /shared/migrated, want the migration's output (it started after it)", got)
	}
	time.Sleep(2 * time.Second) // a crash restart would come within 250 ms
	if m := e.resource("migrate"); m.Restarts != 0 || m.State != "ready" {
		t.Errorf("migrate after it finished: %s, %d restarts; want ready and never restarted", m.State, m.Restarts)
	}
	if r := e.mustLoop("logs", "migrate"); strings.Count(r.stdout, "migrating") != 1 {
		t.Errorf("migrate ran %d times, want once:\n%s", strings.Count(r.stdout, "migrating"), r.stdout)
	}
}
