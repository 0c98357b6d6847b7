package docker

// `loop down` and daemon stop end with a sweep: once a project's engine
// has stopped (every start, stop and removal it had in flight has
// returned), whatever the engine still holds for the project is removed —
// containers first, then the network, which the engine refuses to remove
// while an endpoint is still attached (a container being removed). What
// cannot be removed within the bound is reported, naming it.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Sweep bounds: the first retries come quickly (an endpoint is released
// milliseconds after its container is removed), later ones less often.
const (
	sweepFirstRetry = 10 * time.Millisecond
	sweepMaxRetry   = 500 * time.Millisecond
)

// Sweep removes every container labelled with project and then project's
// network, retrying while a container is still being removed or the
// network still has endpoints, until ctx ends; it returns what is left
// then. A runtime that never reached its engine made nothing: it does not
// connect (nor wait for an absent engine) just for this.
func (r *Runtime) Sweep(ctx context.Context, project string) error {
	r.mu.Lock()
	cli := r.cli
	if !r.pinged {
		cli = nil
	}
	r.mu.Unlock()
	if cli == nil {
		return nil
	}
	wait := sweepFirstRetry
	for {
		err := r.sweepOnce(ctx, cli, project)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsConflict(err) && !cerrdefs.IsPermissionDenied(err) {
			return fmt.Errorf("sweep %s: %w", project, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sweep %s: %w", project, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, sweepMaxRetry)
	}
}

// sweepOnce removes project's containers, then, once none is left, its
// network; the error says what is left. A container being removed
// already (conflict) or a network with endpoints (permission denied) is
// worth another try.
func (r *Runtime) sweepOnce(ctx context.Context, cli *client.Client, project string) error {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, s := range list {
		name := strings.TrimPrefix(strings.Join(s.Names, ","), "/")
		// The engine that ran it has stopped: nothing should be left.
		r.logger().Warn("removing a container left behind", "project", project, "container", shortID(s.ID), "name", name,
			"state", s.State, "image", s.Image, "command", s.Command)
		err := cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s (%s, %s), or `docker rm -f %s` it: %w", name, shortID(s.ID), s.State, name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // the network cannot go before them
	}
	name := NetworkName(project)
	ids, err := networksNamed(ctx, cli, name)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := cli.NetworkRemove(ctx, id)
		switch {
		case err == nil, client.IsErrNotFound(err):
		case cerrdefs.IsPermissionDenied(err): // "has active endpoints"
			users, foreign := r.attached(ctx, cli, id, project)
			if foreign { // no retry makes it go
				errs = append(errs, fmt.Errorf("network %s is still used by %s", name, users))
				continue
			}
			errs = append(errs, fmt.Errorf("network %s is still used by %s: %w", name, users, err))
		default:
			errs = append(errs, fmt.Errorf("remove network %s, or `docker network rm %s` it: %w", name, name, err))
		}
	}
	return errors.Join(errs...)
}

// attached names the containers attached to network id, for an error,
// and reports whether one is not project's (the sweep leaves it alone, so
// the network stays until its owner disconnects it).
func (r *Runtime) attached(ctx context.Context, cli *client.Client, id, project string) (users string, foreign bool) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("network", id))})
	if err != nil || len(list) == 0 {
		return "a container being removed", false
	}
	var names []string
	for _, c := range list {
		names = append(names, strings.TrimPrefix(strings.Join(c.Names, ","), "/")+" ("+shortID(c.ID)+")")
		foreign = foreign || c.Labels[LabelProject] != project
	}
	sort.Strings(names)
	return "container " + strings.Join(names, ", ") + ": `docker network disconnect` it or remove it", foreign
}
