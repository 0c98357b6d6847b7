package docker

import (
	"io"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// File secrets reach the container before its service starts: readable by
// the container user only.
func TestRuntime_Files(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	c := &model.Container{Image: testImage, Cmd: []string{"sleep", "1000"}, User: "dev"}
	spec := testSpec(project, "files", t.TempDir(), c, io.Discard)
	spec.Files = map[string]string{"/run/secrets/token": "s3cret-value"}
	h := start(t, r, spec)
	if got, _ := run(t, h, "", "cat", "/run/secrets/token"); got != "s3cret-value" {
		t.Errorf("cat /run/secrets/token as dev = %q, want the secret", got)
	}
	if got, _ := run(t, h, "", "stat", "-c", "%a %u", "/run/secrets/token"); strings.TrimSpace(got) != "400 1000" {
		t.Errorf("mode and owner = %q, want 400 1000", got)
	}
}
