package docker

// Deletes synced while a container is stopped are queued in
// /.loop-state/deletes (target.Delete); the supervisor applies the list
// when the container starts, before it starts the service, then removes
// it. Before starting it, Start drops from the list the paths that exist
// on the host again (copied back since: the queued delete would remove
// the newer file); after, it waits for the supervisor, so that nothing a
// queued delete removes is seen once Start has returned (a readiness
// probe, `loop exec`).

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/model"
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

// prunePendingDeletes drops from the queue of the (stopped) container the
// paths whose host counterpart exists: created again after their delete
// was queued, they were copied since. It reports whether a queue is there.
func (h *handle) prunePendingDeletes(ctx context.Context) (bool, error) {
	b, err := h.readFile(ctx, pendingDeletes)
	if err != nil || b == nil {
		return false, err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	keep := make([]string, 0, len(lines))
	for _, p := range lines {
		if host, ok := hostPathOf(h.c.Sync, p); ok {
			if _, err := os.Lstat(host); err == nil {
				continue
			}
		}
		keep = append(keep, p)
	}
	if len(keep) == len(lines) {
		return true, nil
	}
	list := strings.Join(keep, "\n")
	if list != "" {
		list += "\n"
	}
	if err := h.writeState(ctx, map[string][]byte{"deletes": []byte(list)}); err != nil {
		return false, fmt.Errorf("rewrite pending deletes: %w", err)
	}
	return true, nil
}

// hostPathOf maps a container path to the host path the most specific
// sync rule syncs it from.
func hostPathOf(rules []model.SyncRule, remote string) (string, bool) {
	remote = path.Clean(remote)
	best, host := -1, ""
	for _, r := range rules {
		root := path.Clean(r.Remote)
		rel, ok := strings.CutPrefix(remote, root)
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/") && root != "/") || len(root) <= best {
			continue
		}
		best, host = len(root), filepath.Join(r.Local, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
	}
	return host, best >= 0
}
