//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// baseImage is the local image the container tests run (FROM scratch plus
// a static busybox, users root and dev (1000)); scripts/test-images.sh
// builds it, nothing can be pulled.
const baseImage = "loop-test/busybox:latest"

// labelProject is the label loop puts on every container, image and volume
// it creates for a project (runtime/docker.LabelProject).
const labelProject = "dev.loop.project"

var dockerCheck struct {
	once   sync.Once
	reason string // why Docker cannot be used; "" when it can
}

// requireDocker skips the test when the Docker engine or the test image is
// missing, and fails it instead when LOOP_REQUIRE_DOCKER=1 (CI).
func requireDocker(t *testing.T) {
	t.Helper()
	dockerCheck.once.Do(func() {
		if os.Getenv("DOCKER_HOST") == "" {
			if _, err := os.Stat("/var/run/docker.sock"); err != nil {
				dockerCheck.reason = "no Docker engine: /var/run/docker.sock is missing and DOCKER_HOST is unset"
				return
			}
		}
		if out, err := dockerCmd("version", "--format", "{{.Server.Version}}"); err != nil {
			dockerCheck.reason = fmt.Sprintf("no Docker engine: `docker version` failed: %v: %s", err, out)
			return
		}
		if out, err := dockerCmd("image", "inspect", "--format", "{{.Id}}", baseImage); err != nil {
			dockerCheck.reason = fmt.Sprintf("the test image %s is missing (run scripts/test-images.sh): %v: %s", baseImage, err, out)
		}
	})
	if dockerCheck.reason == "" {
		return
	}
	if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
		t.Fatalf("LOOP_REQUIRE_DOCKER=1 but %s", dockerCheck.reason)
	}
	t.Skip(dockerCheck.reason)
}

// dockerCmd runs the docker CLI and returns its trimmed combined output.
func dockerCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// mustDocker runs the docker CLI and fails the test unless it succeeds.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// projectName makes a project (directory) name unique to this test run, so
// that container names (loop-<project>-<resource>), image tags
// (loop/<project>-<image>) and labels never clash with another run.
func projectName(name string) string {
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), projectSeq.Add(1))
}

// projectSeq tells apart the projects of one run (go test -count=N).
var projectSeq atomic.Int64

// newDockerEnv is newEnv for a project with container resources. Cleanup,
// in order: `loop down --volumes`, `loop daemon stop` (newEnv's), then a
// check that loop left no container of the project behind, and removal of
// every container, volume and image labelled with the project or tagged
// loop/<project>-*.
func newDockerEnv(t *testing.T, name string) *loopEnv {
	t.Helper()
	requireDocker(t)
	return newContainerEnv(t, projectName(name))
}

// newContainerEnv is newDockerEnv without the Docker requirement: its
// cleanup does nothing when there is no engine to clean.
func newContainerEnv(t *testing.T, project string) *loopEnv {
	t.Helper()
	t.Cleanup(func() { removeProjectObjects(t, project) }) // runs last
	e := newEnv(t, project)
	t.Cleanup(func() {
		// The project may be down already (or never up): the exit code
		// does not matter, what is left is checked afterwards.
		e.loop("down", "--volumes")
	})
	return e
}

// projectContainers lists the IDs of every container labelled with the
// project, running or not.
func projectContainers(t *testing.T, project string) []string {
	t.Helper()
	out := mustDocker(t, "ps", "-aq", "--no-trunc", "--filter", "label="+labelProject+"="+project)
	return strings.Fields(out)
}

// removeProjectObjects reports containers loop left behind after its daemon
// stopped, then removes whatever the project left in the engine.
func removeProjectObjects(t *testing.T, project string) {
	t.Helper()
	if _, err := dockerCmd("version"); err != nil {
		return
	}
	label := "label=" + labelProject + "=" + project
	if out, _ := dockerCmd("ps", "-aq", "--filter", label); out != "" {
		t.Errorf("after `loop down --volumes` and `loop daemon stop`, containers of %s are left: %s", project, strings.Join(strings.Fields(out), " "))
		dockerCmd(append([]string{"rm", "-f", "-v"}, strings.Fields(out)...)...)
	}
	if out, _ := dockerCmd("network", "ls", "--format", "{{.Name}}", "--filter", label); out != "" {
		t.Errorf("after `loop daemon stop`, the network of %s is left: %s (the engine has room for about 30)", project, out)
		dockerCmd(append([]string{"network", "rm"}, strings.Fields(out)...)...)
	}
	if out, _ := dockerCmd("volume", "ls", "-q", "--filter", label); out != "" {
		dockerCmd(append([]string{"volume", "rm", "-f"}, strings.Fields(out)...)...)
	}
	var imgs []string
	if out, _ := dockerCmd("images", "-q", "--filter", "reference=loop/"+project+"-*"); out != "" {
		imgs = append(imgs, strings.Fields(out)...)
	}
	if out, _ := dockerCmd("images", "-aq", "--filter", label); out != "" {
		imgs = append(imgs, strings.Fields(out)...)
	}
	if len(imgs) > 0 {
		imageRemoval.Lock()
		dockerCmd(append([]string{"rmi", "-f"}, imgs...)...)
		imageRemoval.Unlock()
	}
}

// imageRemoval keeps image removals (which prune untagged parent layers)
// from running during builds that may take those layers from Docker's
// cache: tests that build images sharing layers with other tests' (the
// templates on the same base images) hold it for reading while they build.
var imageRemoval sync.RWMutex

// exec runs `loop exec -T resource -- argv...` and returns its stdout; it
// fails the test unless the command exits 0.
func (e *loopEnv) exec(resource string, argv ...string) string {
	e.t.Helper()
	return e.mustLoop(append([]string{"exec", "-T", resource, "--"}, argv...)...).stdout
}

// containerOf returns the container ID `loop status --json` shows for
// resource, failing the test when it has none.
func (e *loopEnv) containerOf(resource string) string {
	e.t.Helper()
	r := e.resource(resource)
	if r.Container == "" {
		e.t.Fatalf("%s: no container in loop status (state %s: %s)", resource, r.State, r.Reason)
	}
	return r.Container
}

// waitFailed runs `loop wait`, which must exit 1 (settled with failures),
// and returns what it printed.
func (e *loopEnv) waitFailed() string {
	e.t.Helper()
	r := e.loop("wait", "--timeout", "30s")
	if r.code != 1 {
		e.t.Fatalf("loop wait: want exit 1 (a resource failed), got %s", r)
	}
	return r.stdout + r.stderr
}
