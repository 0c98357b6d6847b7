//go:build linux

package containerd

import (
	"testing"

	"github.com/loopdev/loop/internal/liveupdate/liveupdatetest"
	"github.com/loopdev/loop/internal/runtime"
)

// TestLiveUpdate runs live update's conformance suite against the real
// containerd.
func TestLiveUpdate(t *testing.T) {
	e := setup(t)
	liveupdatetest.Run(t, liveupdatetest.Harness{
		Project: "ctrdtest", Image: testImage,
		Start: func(t *testing.T, spec runtime.Spec) runtime.Handle {
			rt := e.runtime()
			t.Cleanup(func() { rt.Close() })
			h, err := rt.Start(t.Context(), spec)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			return h
		},
	})
}
