package docker

import (
	"testing"

	"github.com/loopdev/loop/internal/liveupdate/liveupdatetest"
	"github.com/loopdev/loop/internal/runtime"
)

// TestLiveUpdate runs live update's conformance suite against the real
// Docker engine.
func TestLiveUpdate(t *testing.T) {
	r := testRuntime(t)
	liveupdatetest.Run(t, liveupdatetest.Harness{
		Project: testProject(t, r), Image: testImage,
		Start: func(t *testing.T, spec runtime.Spec) runtime.Handle { return start(t, r, spec) },
	})
}
