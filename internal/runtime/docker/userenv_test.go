package docker

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// TestRuntime_UserEnv: exec and lifecycle commands get the login shell's
// environment (a variable /etc/profile exports) with remoteEnv over it,
// ${containerEnv:VAR} taken from the container; the result is kept in the
// container for loop exec (RemoteEnv).
func TestRuntime_UserEnv(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	c := &model.Container{
		Image: testImage, KeepAlive: true, Workdir: "/tmp", RemoteUser: "dev", ConfigFile: "/x/devcontainer.json",
		UserEnvProbe: "loginShell",
		RemoteEnv:    map[string]string{"R_PATH": "${containerEnv:PATH}:/extra", "FROM_PROFILE": "remote"},
		Lifecycle: &model.Lifecycle{
			// HOME is not in the container's environment (inspect's
			// Config.Env): the exec sets it. "" then, as in the reference CLI.
			OnCreate: &model.Command{Argv: []string{"/bin/sh", "-c", "echo \"$R_PATH|${containerEnv:HOME}\" > /tmp/lc"}},
		},
	}
	h := start(t, r, testSpec(project, "app", t.TempDir(), c, io.Discard))
	pathEnv, _ := run(t, h, "", "/bin/sh", "-c", "echo $PATH")
	pathEnv = strings.TrimSpace(pathEnv)
	if got, _ := run(t, h, "", "cat", "/tmp/lc"); got != pathEnv+":/extra|\n" {
		t.Errorf("onCreateCommand saw %q, want %q", got, pathEnv+":/extra|\n")
	}
	if got, _ := run(t, h, "", "/bin/sh", "-c", "echo $R_PATH-$FROM_PROFILE-$HOME"); got != pathEnv+":/extra-remote-/home/dev\n" {
		t.Errorf("exec saw %q, want %q", got, pathEnv+":/extra-remote-/home/dev\n")
	}
	env, ok, err := RemoteEnv(context.Background(), r.cli, h.id)
	if err != nil || !ok || !slices.Contains(env, "R_PATH="+pathEnv+":/extra") || !slices.Contains(env, "HOME=/home/dev") {
		t.Errorf("RemoteEnv: got %q, %v, %v, want R_PATH and the probed HOME", env, ok, err)
	}
}
