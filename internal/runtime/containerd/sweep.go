//go:build linux

package containerd

// `loop down` and daemon stop end with a sweep (the daemon finds Sweep by
// type assertion, as on the docker runtime): once a project's engine has
// stopped, whatever containerd and the host still hold for the project is
// removed — containers left behind first (a start cut short, a loopd
// killed), releasing their addresses, then the records of containers that
// are gone, then the project network: its conflist, host-local's
// allocations and its bridge.

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/containerd/errdefs"
)

// Sweep removes project's containers and then its network. A runtime that
// never reached containerd and has no network for project made nothing:
// it does not connect just for this.
func (r *Runtime) Sweep(ctx context.Context, project string) error {
	r.mu.Lock()
	connected := r.cli != nil
	r.mu.Unlock()
	netName := networkName(project)
	if _, err := os.Stat(r.confFile(netName)); !connected && err != nil {
		return nil
	}
	if err := r.sweep(r.ctx(ctx), project); err != nil {
		return fmt.Errorf("sweep %s: %w", project, err)
	}
	return nil
}

func (r *Runtime) sweep(ctx context.Context, project string) error {
	cli, err := r.client(ctx)
	if err != nil {
		return err
	}
	ctrs, err := cli.Containers(ctx, fmt.Sprintf("labels.%q==%q", LabelProject, project))
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, c := range ctrs {
		r.logger().Warn("removing a container left behind", "project", project, "container", c.ID())
		if err := r.removeContainer(ctx, c, project); err != nil {
			errs = append(errs, fmt.Errorf("%w; or remove it: ctr -n %s tasks kill -s KILL %s; ctr -n %s containers rm %s", err, r.namespace(), c.ID(), r.namespace(), c.ID()))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // the network cannot go before them
	}
	netName := networkName(project)
	if _, err := os.Stat(r.hostsStore()); err == nil {
		metas, err := readMetas(r.hostsStore(), netName)
		if err != nil {
			return fmt.Errorf("hosts store: %w", err)
		}
		for _, m := range metas {
			if _, err := cli.LoadContainer(ctx, m.ID); !errdefs.IsNotFound(err) {
				continue // still there: a start in flight owns its record
			}
			if err := r.detach(ctx, m.ID, project); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return r.removeNetwork(project)
}
