package process

import (
	"errors"
	"testing"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// TestStart_badEnv: an environment entry that would corrupt the process's
// environment block is refused before anything starts.
func TestStart_badEnv(t *testing.T) {
	for _, env := range [][]string{{"PATH=/bin", "A\x00B=1"}, {"PATH=/bin", "A=x\x00y"}, {"PATH=/bin", "="}} {
		h, err := (&Runtime{}).Start(t.Context(), runtime.Spec{Name: "bad", Argv: []string{"true"}, Env: env})
		if !errors.Is(err, model.ErrBadEnv) {
			if h != nil {
				h.Stop(t.Context())
			}
			t.Errorf("Start with env %q: %v, want %v", env, err, model.ErrBadEnv)
		}
	}
}
