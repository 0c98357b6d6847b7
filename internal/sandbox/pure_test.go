package sandbox

import (
	"context"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/loopfile/loopfiletest"
	"github.com/loopdev/loop/internal/model"
)

// The evaluator child writes nothing either (loopd prepares databases
// afterwards, in its own process: package database; the runtime assembles
// the Features' build context when it builds).
func TestLoad_writesNothing(t *testing.T) {
	loopfiletest.WritesNothing(t, func(path string, env []string) (*model.Project, error) {
		return Load(context.Background(), path, loopfile.Options{Env: env}, Limits{})
	})
}
