//go:build linux

package containerd

import (
	"context"
	"errors"
	"testing"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// TestConfig_badEnv: the container's environment is checked before a
// container is made.
func TestConfig_badEnv(t *testing.T) {
	spec := runtime.Spec{Name: "c", Container: &model.Container{Image: "alpine"}, Env: []string{"A=\x00"}}
	if _, err := (&Runtime{}).config(context.Background(), spec); !errors.Is(err, model.ErrBadEnv) {
		t.Errorf("config: %v, want %v", err, model.ErrBadEnv)
	}
}
