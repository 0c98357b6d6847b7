//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// devcontainerJSON is JSONC: comments and trailing commas. Each lifecycle
// command appends a line to lifecycle.log in the workspace.
const devcontainerJSON = `// The test's dev container.
{
  "name": "e2e",
  "build": {"dockerfile": "Dockerfile",},
  /* variables: substituted when the file is read */
  "containerEnv": {
    "BASENAME": "${localWorkspaceFolderBasename}",
    "FROM_HOST": "${localEnv:LOOP_E2E_DC_VAR}",
    "WITH_DEFAULT": "${localEnv:LOOP_E2E_DC_UNSET:fallback}",
  },
  "remoteUser": "dev",
  "features": {
    "./features/hello": {},
  },
  "onCreateCommand": "echo onCreate >> lifecycle.log",
  "postCreateCommand": ["sh", "-c", "echo postCreate >> lifecycle.log"],
  "postStartCommand": {
    "a": "echo postStart-a >> lifecycle.log",
    "b": ["sh", "-c", "echo postStart-b >> lifecycle.log"],
  },
}
`

const helloFeatureJSON = `{
  "id": "hello",
  "version": "1.0.0",
  "name": "Hello",
  // An option with a default, which the config does not set.
  "options": {
    "greeting": {"type": "string", "default": "hello-default"},
  },
}
`

const helloInstall = `#!/bin/sh
set -e
mkdir -p /usr/local/share
echo "$GREETING" > /usr/local/share/hello
`

// lifecycleRuns parses lifecycle.log into its lines; the parallel
// postStart commands are sorted within each run of them.
func (e *loopEnv) lifecycleRuns() []string {
	e.t.Helper()
	b, err := os.ReadFile(e.dir + "/lifecycle.log")
	if err != nil {
		e.t.Fatalf("lifecycle.log: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "postStart-") && strings.HasPrefix(lines[i+1], "postStart-") {
			slices.Sort(lines[i : i+2])
			i++
		}
	}
	return lines
}

// Lifecycle logs: one container's creation and a start.
var (
	created = []string{"onCreate", "postCreate"}
	started = []string{"postStart-a", "postStart-b"}
)

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

// TestDevcontainer_BuildFeatureLifecycle: a devcontainer.json with a build,
// a local Feature, variables, a remote user and lifecycle commands of each
// form becomes a running container: the Feature installed with its
// option's default, variables substituted, exec as the remote user in
// /workspaces/<name>, onCreate and postCreate once per container, in
// order, and postStart at every start of it.
func TestDevcontainer_BuildFeatureLifecycle(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "dcfull")
	e.write(".devcontainer/devcontainer.json", devcontainerJSON)
	e.write(".devcontainer/Dockerfile", "FROM "+baseImage+"\n")
	e.write(".devcontainer/features/hello/devcontainer-feature.json", helloFeatureJSON)
	e.write(".devcontainer/features/hello/install.sh", helloInstall)
	e.write("Loopfile", `devcontainer("dev")`+"\n")
	// The remote user (1000) writes lifecycle.log into the bind-mounted
	// workspace, which root owns here (updateRemoteUserUID is not
	// supported).
	if err := os.Chmod(e.dir, 0o777); err != nil {
		t.Fatal(err)
	}

	// ${localEnv:...} comes from the environment of `loop up`.
	up := func() {
		t.Helper()
		if r := e.loopWith([]string{"LOOP_E2E_DC_VAR=from-host"}, "up", "-d"); r.code != 0 {
			t.Fatalf("loop up -d: %s", r)
		}
		e.settled()
	}
	up()
	id := e.containerOf("dev")
	if got, want := e.lifecycleRuns(), concat(created, started); !slices.Equal(got, want) {
		t.Fatalf("lifecycle.log after the first start = %q, want %q", got, want)
	}

	env := strings.Split(e.exec("dev", "env"), "\n")
	for _, want := range []string{"BASENAME=" + e.project(), "FROM_HOST=from-host", "WITH_DEFAULT=fallback"} {
		if !slices.Contains(env, want) {
			t.Errorf("env in the dev container lacks %s:\n%s", want, strings.Join(env, "\n"))
		}
	}
	if got := e.exec("dev", "cat", "/usr/local/share/hello"); got != "hello-default\n" {
		t.Errorf("/usr/local/share/hello (the Feature's install.sh) = %q, want the option's default %q", got, "hello-default\n")
	}
	if got := strings.TrimSpace(e.exec("dev", "id", "-u")); got != "1000" {
		t.Errorf("loop exec dev -- id -u = %s, want 1000 (remoteUser dev)", got)
	}
	if got, want := strings.TrimSpace(e.exec("dev", "pwd")), "/workspaces/"+e.project(); got != want {
		t.Errorf("loop exec dev -- pwd = %s, want %s (the default workspaceFolder)", got, want)
	}

	// The same container started again: postStart only.
	e.killDaemon()
	mustDocker(t, "stop", "-t", "1", id)
	up()
	if got := e.containerOf("dev"); got != id {
		log, _ := os.ReadFile(filepath.Join(e.home, "loopd.log"))
		t.Fatalf("dev: container %.12s after a new daemon, want the stopped %.12s adopted and started\nloopd.log:\n%s", got, id, log)
	}
	if got, want := e.lifecycleRuns(), concat(created, started, started); !slices.Equal(got, want) {
		t.Fatalf("lifecycle.log after the same container started again = %q, want %q (onCreate and postCreate once per container, postStart every start)", got, want)
	}

	// `loop restart` restarts the service in place: the container is
	// neither created nor started, so no lifecycle command runs.
	e.mustLoop("restart", "dev")
	e.settled()
	want := concat(created, started, started)
	if got := e.containerOf("dev"); got != id {
		t.Errorf("dev: `loop restart` replaced container %.12s with %.12s; want a restart in place", id, got)
	}
	if got := e.lifecycleRuns(); !slices.Equal(got, want) {
		t.Errorf("lifecycle.log after `loop restart dev` = %q, want %q", got, want)
	}
}

// TestDevcontainer_AdoptRunningKeepsLifecycle: a new daemon that adopts a
// running dev container does not run its lifecycle commands again: the
// container was neither created nor started.
func TestDevcontainer_AdoptRunningKeepsLifecycle(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "dcadopt")
	e.write(".devcontainer.json", `{
  "image": "`+baseImage+`",
  "onCreateCommand": "echo onCreate >> lifecycle.log",
  "postCreateCommand": "echo postCreate >> lifecycle.log",
  "postStartCommand": {"a": "echo postStart-a >> lifecycle.log", "b": "echo postStart-b >> lifecycle.log"},
}
`)
	e.write("Loopfile", `devcontainer("dev")`+"\n")
	e.up()
	id := e.containerOf("dev")
	first := concat(created, started)
	if got := e.lifecycleRuns(); !slices.Equal(got, first) {
		t.Fatalf("lifecycle.log after the first start = %q, want %q", got, first)
	}

	e.killDaemon()
	e.up()
	if got := e.containerOf("dev"); got != id {
		t.Fatalf("dev: container %.12s after a new daemon, want the running %.12s adopted", got, id)
	}
	if got := e.lifecycleRuns(); !slices.Equal(got, first) {
		t.Errorf("lifecycle.log after adopting the running container = %q, want %q unchanged (postStartCommand runs when the container starts; adopting a running one is not a start)", got, first)
	}
}

// TestDevcontainer_SyntaxError: `loop up` with a broken devcontainer.json
// fails naming the file, line and column.
func TestDevcontainer_SyntaxError(t *testing.T) {
	t.Parallel()
	e := newContainerEnv(t, projectName("dcsyntax"))
	e.write(".devcontainer/devcontainer.json", `{
  // a comment, then a missing comma
  "name": "broken"
  "image": "`+baseImage+`",
}
`)
	e.write("Loopfile", `devcontainer("dev")`+"\n")
	r := e.loop("up", "-d")
	if r.code == 0 {
		t.Fatalf("loop up -d with a broken devcontainer.json: exit 0, want a failure\n%s", r)
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, ".devcontainer/devcontainer.json:4:3") {
		t.Errorf("loop up -d does not name .devcontainer/devcontainer.json:4:3 (the unexpected \"image\"):\n%s", r)
	}
}
