//go:build linux

package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDevcontainer_Compose: a devcontainer.json that points at a Compose
// file runs both services, each built from a local Dockerfile: the db
// helper serves on its published port, the app dev container (resource
// "dev", named by devcontainer()) mounts the workspace through the Compose
// file's volumes, runs postCreateCommand once per container and
// postStartCommand at each start, `loop exec` runs as remoteUser in
// workspaceFolder and sees an edit made on the host, and `loop down`
// removes both containers.
func TestDevcontainer_Compose(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "dccompose")
	port := freePort(t)
	e.write(".devcontainer/devcontainer.json", `{
  "name": "compose e2e",
  "dockerComposeFile": ["docker-compose.yml", "docker-compose.dev.yml"],
  "service": "app",
  "workspaceFolder": "/workspace",
  "remoteUser": "dev",
  "containerEnv": {"MODE": "devcontainer"},
  "postCreateCommand": "echo postCreate >> lifecycle.log",
  "postStartCommand": "echo postStart >> lifecycle.log",
}
`)
	e.write(".devcontainer/docker-compose.yml", fmt.Sprintf(`
services:
  app:
    build: {context: ., dockerfile: app.Dockerfile}
    command: ["sleep", "3600"]
    environment: {MODE: compose, DB_URL: "http://db:8080/"}
    depends_on: [db]
  db:
    build: {context: ., dockerfile: db.Dockerfile}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["%d:8080"]
`, port))
	// The second file adds the workspace mount, as the Dev Containers
	// templates do; its paths are relative to the first file's folder.
	e.write(".devcontainer/docker-compose.dev.yml", `
services:
  app:
    volumes: ["..:/workspace"]
`)
	e.write(".devcontainer/app.Dockerfile", "FROM "+baseImage+"\n")
	e.write(".devcontainer/db.Dockerfile", "FROM "+baseImage+"\nCOPY www /www\n")
	e.write(".devcontainer/www/index.html", "db-ok")
	e.write("notes.txt", "v1")
	e.write("Loopfile", `devcontainer("dev")`+"\n")
	// The remote user (1000) writes lifecycle.log into the workspace.
	if err := os.Chmod(e.dir, 0o777); err != nil {
		t.Fatal(err)
	}

	e.up()
	pollGet(t, port, "db-ok")
	id := e.containerOf("dev")
	e.containerOf("db")
	if got, want := e.lifecycleLines(), []string{"postCreate", "postStart"}; !slices.Equal(got, want) {
		t.Fatalf("lifecycle.log after the first start = %q, want %q", got, want)
	}
	if got := strings.TrimSpace(e.exec("dev", "id", "-u")); got != "1000" {
		t.Errorf("loop exec dev -- id -u = %s, want 1000 (remoteUser dev)", got)
	}
	if got := strings.TrimSpace(e.exec("dev", "pwd")); got != "/workspace" {
		t.Errorf("loop exec dev -- pwd = %s, want /workspace (workspaceFolder)", got)
	}
	env := strings.Split(e.exec("dev", "env"), "\n")
	for _, want := range []string{"MODE=devcontainer", "DB_URL=http://db:8080/"} {
		if !slices.Contains(env, want) {
			t.Errorf("env of the dev container lacks %s (containerEnv over the service's environment):\n%s", want, strings.Join(env, "\n"))
		}
	}
	e.write("notes.txt", "v2")
	if got := e.exec("dev", "cat", "/workspace/notes.txt"); got != "v2" {
		t.Errorf("/workspace/notes.txt in the dev container = %q after an edit on the host, want %q (the Compose file's bind mount)", got, "v2")
	}

	// The same container started again: postStart only.
	e.killDaemon()
	mustDocker(t, "stop", "-t", "1", id)
	e.up()
	if got := e.containerOf("dev"); got != id {
		t.Fatalf("dev: container %.12s after a new daemon, want the stopped %.12s adopted and started", got, id)
	}
	if got, want := e.lifecycleLines(), []string{"postCreate", "postStart", "postStart"}; !slices.Equal(got, want) {
		t.Errorf("lifecycle.log after the same container started again = %q, want %q (postCreate once per container)", got, want)
	}

	// Editing a Compose file re-evaluates: the dev container is
	// recreated with the new environment.
	e.write(".devcontainer/docker-compose.dev.yml", `
services:
  app:
    volumes: ["..:/workspace"]
    environment: {DB_URL: "http://db:8080/v2"}
`)
	var got string
	if !poll(30*time.Second, func() bool {
		r := e.loop("exec", "-T", "dev", "--", "sh", "-c", "echo $DB_URL")
		got = strings.TrimSpace(r.stdout)
		return r.code == 0 && got == "http://db:8080/v2"
	}) {
		t.Errorf("DB_URL in the dev container = %q after editing docker-compose.dev.yml, want the new value", got)
	}
	if e.containerOf("dev") == id {
		t.Errorf("dev: container %.12s kept after its Compose environment changed, want a new one", id)
	}

	e.mustLoop("down")
	if left := projectContainers(t, e.project()); len(left) != 0 {
		t.Errorf("after loop down, containers of the project are left: %v", left)
	}
}

// lifecycleLines is lifecycle.log in the workspace, line by line.
func (e *loopEnv) lifecycleLines() []string {
	e.t.Helper()
	b, err := os.ReadFile(e.dir + "/lifecycle.log")
	if err != nil {
		e.t.Fatalf("lifecycle.log: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
