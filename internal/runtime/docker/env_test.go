package docker

import (
	"errors"
	"testing"

	"github.com/docker/docker/api/types/image"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// TestContainerConfig_badEnv: the container's environment is checked
// before it is handed to the engine.
func TestContainerConfig_badEnv(t *testing.T) {
	spec := runtime.Spec{Name: "c", Container: &model.Container{Image: "alpine", KeepAlive: true}, Env: []string{"A=1", "B=\x00"}}
	if _, _, err := containerConfig(spec, "alpine", image.InspectResponse{}, ""); !errors.Is(err, model.ErrBadEnv) {
		t.Errorf("containerConfig: %v, want %v", err, model.ErrBadEnv)
	}
	spec.Env = []string{"A=1", "B=x=y"}
	if _, _, err := containerConfig(spec, "alpine", image.InspectResponse{}, ""); err != nil {
		t.Errorf("containerConfig: %v", err)
	}
}
