package docker

// Each project's containers share a bridge network of their own,
// loop-<project>, on which every container answers to its resource name
// (and to Container.Aliases, e.g. a Compose service name): services reach
// each other as Compose services do ("db:5432"), and the host as
// host.docker.internal. The network is created on the first container
// start and removed by `loop down` once no container uses it.

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
)

// hostGateway lets containers reach services on the host, as Docker
// Desktop does on its own.
const hostGateway = "host.docker.internal:host-gateway"

// NetworkName is the network of project's containers.
func NetworkName(project string) string {
	return "loop-" + badName.ReplaceAllString(project, "-")
}

// ensureNetwork creates project's network unless it exists.
func ensureNetwork(ctx context.Context, cli *client.Client, project string) error {
	name := NetworkName(project)
	if _, err := cli.NetworkInspect(ctx, name, network.InspectOptions{}); err == nil {
		return nil
	} else if !client.IsErrNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelProject: project},
	})
	if err != nil && !errdefs.IsConflict(err) { // created meanwhile by another start
		return fmt.Errorf("create network %s: %w", name, err)
	}
	return nil
}

// networkEndpoint attaches a container to project's network under its resource
// name and aliases.
func networkEndpoint(project, resource string, aliases []string) *network.NetworkingConfig {
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		NetworkName(project): {Aliases: append([]string{resource}, aliases...)},
	}}
}

// RemoveNetwork removes project's network (loop down, daemon stop). A
// network some container still uses stays (the engine refuses), and a
// missing one is fine. A runtime that never connected created none: it
// does not connect (nor wait for an absent engine) just for this.
func (r *Runtime) RemoveNetwork(ctx context.Context, project string) error {
	r.mu.Lock()
	connected := r.cli != nil
	r.mu.Unlock()
	if !connected {
		return nil
	}
	cli, err := r.client(ctx)
	if err != nil {
		return err
	}
	name := NetworkName(project)
	if err := cli.NetworkRemove(ctx, name); err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}
