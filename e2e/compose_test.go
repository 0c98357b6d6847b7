package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCompose_SyncedEdit: `loop up` on a Compose project imported with
// compose(): the service built from the project serves its baked-in
// files, a dependant service starts after it, and an edit under a
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

	e.up()
	// No readiness: healthcheck is not imported, so the service is ready
	// once started, maybe before httpd listens.
	pollGet(t, port, "v1")
	id := e.containerOf("web")
	if got := strings.TrimSpace(e.exec("worker", "sh", "-c", "echo $WEB_URL")); got != "http://web:8080/index.html" {
		t.Errorf("worker: WEB_URL = %q, want the interpolated default", got)
	}

	e.write("web/www/index.html", "v2")
	e.mustLoop("wait", "--timeout", "30s")
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
