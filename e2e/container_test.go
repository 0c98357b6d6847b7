//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// webProject writes a project whose container "web" runs busybox httpd on
// the host port, from an image built from the project (www is baked in
// and synced), with the service's pid in /tmp/pid.
func webProject(e *loopEnv, port int) {
	e.t.Helper()
	e.write("Dockerfile", "FROM "+baseImage+"\nCOPY www /www\n")
	e.write("www/index.html", "v1")
	e.write("www/old.html", "old")
	e.write("Loopfile", fmt.Sprintf(`
image("web-img", context = ".")

container(
    "web",
    image = "web-img",
    cmd = ["sh", "-c", "echo $$ > /tmp/pid; exec httpd -f -p 8080 -h /www"],
    ports = ["%d:8080"],
    sync = [sync("www", "/www")],
    on_change = [
        run("date > /tmp/ran", trigger = ["www/trigger"]),
        run("echo step-broke; exit 3", trigger = ["www/fail"]),
        restart(),
    ],
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, port, port))
}

// servicePid is the pid of the service inside the container, which its
// command wrote to /tmp/pid.
func (e *loopEnv) servicePid(resource string) int {
	e.t.Helper()
	out := strings.TrimSpace(e.exec(resource, "cat", "/tmp/pid"))
	pid, err := strconv.Atoi(out)
	if err != nil {
		e.t.Fatalf("%s: /tmp/pid holds %q, want a pid", resource, out)
	}
	return pid
}

// hasFile reports whether path exists in resource's container.
func (e *loopEnv) hasFile(resource, path string) bool {
	e.t.Helper()
	r := e.loop("exec", "-T", resource, "--", "test", "-e", path)
	switch r.code {
	case 0:
		return true
	case 1:
		return false
	}
	e.t.Fatalf("loop exec %s -- test -e %s: %s", resource, path, r)
	return false
}

// TestContainer_LiveUpdate: a container built from the project comes up
// serving the baked-in files; edits are synced into the running container
// and the service restarts in place (same container, new service
// process); deletes are synced; run steps run only when their trigger
// changed; a failing run step fails the resource with its output and
// leaves the service alone.
func TestContainer_LiveUpdate(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "clive")
	port := freePort(t)
	webProject(e, port)

	e.up()
	mustGet(t, port, "v1")
	id := e.containerOf("web")
	pid := e.servicePid("web")

	// A synced edit: restart in place.
	e.write("www/index.html", "v2")
	e.settled()
	mustGet(t, port, "v2")
	if got := e.containerOf("web"); got != id {
		t.Fatalf("web: container %.12s after a synced edit, want %.12s (restart in place, no new container)", got, id)
	}
	pid2 := e.servicePid("web")
	if pid2 == pid {
		t.Fatalf("web: service pid %d in the container after a synced edit, want a new process", pid2)
	}
	if e.hasFile("web", "/tmp/ran") {
		t.Fatalf("web: /tmp/ran exists after editing www/index.html: the run step triggered by www/trigger ran")
	}

	// A delete reaches the container.
	if err := os.Remove(filepath.Join(e.dir, "www", "old.html")); err != nil {
		t.Fatal(err)
	}
	e.settled()
	if ls := strings.Fields(e.exec("web", "ls", "/www")); strings.Join(ls, " ") != "index.html" {
		t.Fatalf("web: ls /www = %q after deleting www/old.html, want [index.html]", ls)
	}
	mustGet(t, port, "v2")

	// The trigger of a run step.
	e.write("www/trigger", "1")
	e.settled()
	if !e.hasFile("web", "/tmp/ran") {
		t.Fatalf("web: no /tmp/ran after editing www/trigger: the run step did not run")
	}
	if got := e.containerOf("web"); got != id {
		t.Fatalf("web: container %.12s after a run step, want %.12s", got, id)
	}

	// A failing run step: failed with its output, no restart.
	before := e.servicePid("web")
	e.write("www/fail", "1")
	out := e.waitFailed()
	if !strings.Contains(out, "step-broke") {
		t.Errorf("loop wait after a failing run step does not show its output (step-broke):\n%s", out)
	}
	r := e.resource("web")
	if r.State != api.StateFailed || !strings.Contains(r.Reason, "step-broke") {
		t.Errorf("web: state %s (%q), want %s with the step's output (step-broke)", r.State, r.Reason, api.StateFailed)
	}
	if r.Container != id {
		t.Errorf("web: container %.12s after a failing run step, want %.12s", r.Container, id)
	}
	if got := e.servicePid("web"); got != before {
		t.Errorf("web: service pid %d after a failing run step, want %d (a failing step must stop the update before restart())", got, before)
	}
	mustGet(t, port, "v2")
}

// TestContainer_WaitCoversRestartInPlace: `loop wait` after an edit
// returns only once the service restarted in place answers, also when the
// old process takes a while to stop (a graceful shutdown; here it ignores
// SIGTERM and is killed after stop_timeout). Probing right after asking
// the supervisor to restart would find the old process still answering.
func TestContainer_WaitCoversRestartInPlace(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "cslow")
	port := freePort(t)
	e.write("www/index.html", "v1")
	e.write("Loopfile", fmt.Sprintf(`
container(
    "web",
    image = %q,
    cmd = ["sh", "-c", "trap '' TERM; echo $$ > /tmp/pid; exec httpd -f -p 8080 -h /www"],
    ports = ["%d:8080"],
    sync = [sync("www", "/www")],
    on_change = [restart()],
    stop_timeout = "1s",
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, baseImage, port, port))
	e.up()
	pid := e.servicePid("web")

	e.write("www/index.html", "v2")
	e.settled()
	if got := e.servicePid("web"); got == pid {
		t.Errorf("web: service pid %d right after `loop wait`, want the restarted service (loop wait returned while the old process was still stopping)", got)
	}
	mustGet(t, port, "v2")
}

// TestContainer_DockerfileEditRebuilds: the Dockerfile is outside every
// sync rule, so editing it rebuilds the image and replaces the container.
func TestContainer_DockerfileEditRebuilds(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "crebuild")
	port := freePort(t)
	webProject(e, port)
	e.up()
	mustGet(t, port, "v1")
	id := e.containerOf("web")

	e.write("Dockerfile", "FROM "+baseImage+"\nCOPY www /www\nENV BUILD=2\n")
	e.settled()
	mustGet(t, port, "v1")
	if got := e.containerOf("web"); got == id {
		t.Fatalf("web: container %.12s after editing the Dockerfile, want a new container", got)
	}
	if got := strings.TrimSpace(e.exec("web", "sh", "-c", "echo $BUILD")); got != "2" {
		t.Errorf("web: BUILD=%q in the new container, want 2 (the edited Dockerfile)", got)
	}
	if ids := projectContainers(t, e.project()); len(ids) != 1 {
		t.Errorf("containers of %s after the rebuild: %q, want exactly one (the old one removed)", e.project(), ids)
	}
}

// project is the project's name: its directory's base name.
func (e *loopEnv) project() string { return filepath.Base(e.dir) }

// TestContainer_AdoptedAfterDaemonKill: a container outlives a killed
// loopd, and the next daemon adopts it instead of creating another: same
// container, same service process, one container with the project's
// labels.
func TestContainer_AdoptedAfterDaemonKill(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "cadopt")
	port := freePort(t)
	e.write("www/index.html", "adopted")
	e.write("Loopfile", fmt.Sprintf(`
container(
    "web",
    image = %q,
    cmd = ["sh", "-c", "echo $$ > /tmp/pid; exec httpd -f -p 8080 -h /www"],
    ports = ["%d:8080"],
    sync = [sync("www", "/www")],
    on_change = [restart()],
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, baseImage, port, port))
	e.up()
	mustGet(t, port, "adopted")
	id := e.containerOf("web")
	pid := e.servicePid("web")

	e.killDaemon()
	if got := mustDocker(t, "inspect", "--format", "{{.State.Running}}", id); got != "true" {
		t.Fatalf("container %.12s: running=%s after loopd was killed, want true (containers outlive the daemon)", id, got)
	}
	mustGet(t, port, "adopted")

	e.up()
	if got := e.containerOf("web"); got != id {
		t.Errorf("web: container %.12s after a new `loop up`, want the adopted %.12s", got, id)
	}
	if ids := projectContainers(t, e.project()); len(ids) != 1 {
		t.Errorf("containers of %s after the new daemon: %q, want exactly one", e.project(), ids)
	}
	if got := e.servicePid("web"); got != pid {
		t.Errorf("web: service pid %d after adoption, want %d (the running service is kept)", got, pid)
	}
	mustGet(t, port, "adopted")

	// The adopted container still gets live updates.
	e.write("www/index.html", "updated")
	e.settled()
	mustGet(t, port, "updated")
}

// TestContainer_DownKeepsNamedVolumes: `loop down` removes the project's
// containers and keeps its named volumes (with their data); `loop down
// --volumes` removes them too.
func TestContainer_DownKeepsNamedVolumes(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "cvol")
	// Named volumes are scoped to the project, as in Compose.
	vol := e.project() + "_data"
	e.write("Loopfile", fmt.Sprintf(`
container("db", image = %q, cmd = ["sleep", "1000"], volumes = ["data:/data"], stop_timeout = "1s")
`, baseImage))
	e.up()
	e.exec("db", "sh", "-c", "echo kept > /data/f")

	e.mustLoop("down")
	if ids := projectContainers(t, e.project()); len(ids) != 0 {
		t.Errorf("containers of %s after `loop down`: %q, want none", e.project(), ids)
	}
	if out, err := dockerCmd("volume", "inspect", vol); err != nil {
		t.Fatalf("volume %s after `loop down`: %v: %s, want it kept", vol, err, out)
	}

	e.up()
	if got := strings.TrimSpace(e.exec("db", "cat", "/data/f")); got != "kept" {
		t.Errorf("db: /data/f = %q after down and up, want kept (the volume's data)", got)
	}
	e.mustLoop("down", "--volumes")
	if ids := projectContainers(t, e.project()); len(ids) != 0 {
		t.Errorf("containers of %s after `loop down --volumes`: %q, want none", e.project(), ids)
	}
	if out, err := dockerCmd("volume", "inspect", vol); err == nil {
		t.Errorf("volume %s still exists after `loop down --volumes`: %s", vol, out)
	}
}

// TestContainer_NonRootUser: with user="dev", synced files and directories
// belong to the container user, who can write to them.
func TestContainer_NonRootUser(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "cuser")
	e.write("src/notes.txt", "one\n")
	e.write("Loopfile", fmt.Sprintf(`
container("app", image = %q, user = "dev", cmd = ["sleep", "1000"], stop_timeout = "1s",
          sync = [sync("src", "/home/dev/app")])
`, baseImage))
	e.up()

	if got := strings.TrimSpace(e.exec("app", "id", "-u")); got != "1000" {
		t.Errorf("app: `loop exec app -- id -u` = %q, want 1000 (the container user)", got)
	}
	owners := func() string {
		return strings.TrimSpace(e.exec("app", "stat", "-c", "%u:%g %n", "/home/dev/app", "/home/dev/app/notes.txt"))
	}
	want := "1000:1000 /home/dev/app\n1000:1000 /home/dev/app/notes.txt"
	if got := owners(); got != want {
		t.Errorf("owners after the initial sync:\n%s\nwant:\n%s", got, want)
	}
	e.exec("app", "sh", "-c", "echo two >> /home/dev/app/notes.txt")
	if got := e.exec("app", "cat", "/home/dev/app/notes.txt"); got != "one\ntwo\n" {
		t.Errorf("notes.txt after appending as dev = %q, want %q", got, "one\ntwo\n")
	}

	// A file synced later belongs to dev too.
	e.write("src/sub/new.txt", "new\n")
	e.settled()
	if got := strings.TrimSpace(e.exec("app", "stat", "-c", "%u:%g", "/home/dev/app/sub", "/home/dev/app/sub/new.txt")); got != "1000:1000\n1000:1000" {
		t.Errorf("owners of a synced new directory and file = %q, want 1000:1000 for both", got)
	}
}

// TestContainer_DockerUnreachable: without a Docker engine, a project's
// process services still run; its containers fail saying Docker is
// unreachable and how to start it.
func TestContainer_DockerUnreachable(t *testing.T) {
	t.Parallel()
	e := newContainerEnv(t, projectName("cnodocker"))
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("api", cmd = %s, env = {"PORT": "%d"}, deps = [], readiness = http_probe("http://127.0.0.1:%d/"))
container("box", image = %q, cmd = ["sleep", "1000"])
`, serverCmd(), port, port, baseImage))
	// The first CLI call starts loopd, with this environment.
	noDocker := []string{"DOCKER_HOST=unix:///nonexistent.sock"}
	if r := e.loopWith(noDocker, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	r := e.loopWith(noDocker, "wait", "--timeout", "30s")
	if r.code != 1 {
		t.Fatalf("loop wait: want exit 1 (box failed), got %s", r)
	}
	mustGet(t, port, "ok\n")
	if api := e.resource("api"); api.State != "ready" {
		t.Errorf("api: state %s (%s), want ready: a missing Docker engine must not stop process services", api.State, api.Reason)
	}
	box := e.resource("box")
	if box.State != "failed" {
		t.Errorf("box: state %s, want failed", box.State)
	}
	for _, want := range []string{"nonexistent.sock", "cannot reach the Docker engine", "start it"} {
		if !strings.Contains(box.Reason, want) {
			t.Errorf("box: reason %q does not say %q", box.Reason, want)
		}
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, "cannot reach the Docker engine") {
		t.Errorf("loop wait does not say Docker is unreachable:\n%s", out)
	}
}

// TestContainer_BadInput: a command that exits at once, a host port in use
// and an image that is not present locally each fail their resource with
// a message that says what is wrong.
func TestContainer_BadInput(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "cbad")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	missing := "loop-test/not-here-" + e.project() + ":1"
	e.write("Loopfile", fmt.Sprintf(`
# Without a probe a container is ready once started: this one never is.
container("crash", image = %[1]q, cmd = ["sh", "-c", "echo boom; exit 3"],
          readiness = tcp_probe("127.0.0.1:%[4]d"))
container("port", image = %[1]q, cmd = ["httpd", "-f", "-p", "8080"], ports = ["%[2]d:8080"])
container("pull", image = %[3]q, cmd = ["true"])
`, baseImage, busyPort, missing, freePort(t)))
	e.mustLoop("up", "-d")
	out := e.waitFailed()

	for _, c := range []struct {
		resource string
		states   []string
		want     []string
	}{
		{"crash", []string{api.StateFailed, api.StateCrashed}, nil},
		{"port", []string{api.StateFailed}, []string{strconv.Itoa(busyPort), "already in use"}},
		{"pull", []string{api.StateFailed}, []string{missing, "not present locally"}},
	} {
		r := e.resource(c.resource)
		ok := false
		for _, s := range c.states {
			ok = ok || r.State == s
		}
		// crash goes on crashing: it may be caught starting again after
		// its backoff (long under load), having exited 3 before.
		if c.resource == "crash" && r.State == api.StateStarting && r.Restarts > 0 && r.LastExit == "exited 3" {
			ok = true
		}
		if !ok {
			t.Errorf("%s: state %s (%s), want one of %v", c.resource, r.State, r.Reason, c.states)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Reason, w) {
				t.Errorf("%s: reason %q does not say %q", c.resource, r.Reason, w)
			}
			if !strings.Contains(out, w) {
				t.Errorf("loop wait does not say %q for %s:\n%s", w, c.resource, out)
			}
		}
	}
	if !strings.Contains(out, "boom") {
		t.Errorf("loop wait does not show the crashed container's output (boom):\n%s", out)
	}

	// `loop down` removes the project's containers, also one that exited
	// on its own and waits for its crash restart.
	e.mustLoop("down")
	if ids := projectContainers(t, e.project()); len(ids) != 0 {
		t.Errorf("containers of %s after `loop down`: %.12q, want none (the crashed container must be removed too)", e.project(), ids)
	}
}
