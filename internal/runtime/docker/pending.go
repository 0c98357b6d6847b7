package docker

// Deletes synced while a container is stopped are queued in
// /.loop-state/deletes (target.Delete); the supervisor applies the list
// when the container starts, before it starts the service, then removes
// it. Start waits for that, so that nothing a queued delete removes is
// seen once Start has returned (a readiness probe, `loop exec`).

import (
	"context"
	"time"

	"github.com/docker/docker/client"
)

// pendingDeletes is where the queue lives in the container.
const pendingDeletes = stateDir + "/deletes"

// deletesWait bounds the wait for the supervisor to apply the queue: one
// that cannot (it reports why in the container's output) must not keep
// the resource from starting.
const deletesWait = 30 * time.Second

// hasPendingDeletes reports whether deletes are queued in the (stopped)
// container.
func (h *handle) hasPendingDeletes(ctx context.Context) (bool, error) {
	_, err := h.cli.ContainerStatPath(ctx, h.id, pendingDeletes)
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// awaitDeletes returns once the started container's supervisor has
// applied the queued deletes (the list is gone), the container stopped,
// or deletesWait passed (logged).
func (h *handle) awaitDeletes(ctx context.Context) error {
	deadline := time.Now().Add(deletesWait)
	wait := 2 * time.Millisecond
	for {
		if queued, err := h.hasPendingDeletes(ctx); err != nil || !queued {
			return err
		}
		if info, err := h.cli.ContainerInspect(ctx, h.id); err != nil {
			return err
		} else if info.State == nil || !info.State.Running {
			return nil // exited before applying them: the exit is reported
		}
		if time.Now().After(deadline) {
			h.r.logger().Warn("the supervisor did not apply the deletes queued while the container was stopped", "resource", h.spec.Name,
				"container", shortID(h.id), "waited", deletesWait)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
