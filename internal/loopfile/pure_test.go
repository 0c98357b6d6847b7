package loopfile

import (
	"context"
	"testing"

	"github.com/loopdev/loop/internal/loopfile/loopfiletest"
	"github.com/loopdev/loop/internal/model"
)

// Evaluation is pure: what databases and a devcontainer's Features need on
// disk is made by loopd (package database) and the runtime's build, never
// while the Loopfile is evaluated (and no engine needs to be installed).
func TestLoad_writesNothing(t *testing.T) {
	loopfiletest.WritesNothing(t, func(path string, env []string) (*model.Project, error) {
		return Load(context.Background(), path, Options{Env: env})
	})
}
