package docker

// Each project's containers share a bridge network of their own,
// loop-<project>, on which every container answers to its resource name
// (and to Container.Aliases, e.g. a Compose service name): services reach
// each other as Compose services do ("db:5432"), and the host as
// host.docker.internal. The network is created on the first container
// start and removed by `loop down` and daemon stop (Sweep), after the
// project's containers.

import (
	"context"
	"fmt"
	"slices"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// hostGateway lets containers reach services on the host, as Docker
// Desktop does on its own.
const hostGateway = "host.docker.internal:host-gateway"

// NetworkName is the network of project's containers.
func NetworkName(project string) string {
	return "loop-" + badName.ReplaceAllString(project, "-")
}

// ensureNetwork returns the ID of project's network, creating it unless
// it exists. Creation is serialized: an engine before API 1.44 lets two
// concurrent creations make two networks of the same name, and then
// refuses the ambiguous name.
func (r *Runtime) ensureNetwork(ctx context.Context, cli *client.Client, project string) (string, error) {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	name := NetworkName(project)
	ids, err := networksNamed(ctx, cli, name)
	if err != nil {
		return "", err
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	// Not cancelled with ctx (see settled): a creation aborted here would
	// still complete in the engine, after the next start made another
	// network of the same name or `loop down` removed the project's.
	mctx, cancel := settled(ctx)
	defer cancel()
	resp, err := cli.NetworkCreate(mctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelProject: project},
	})
	if err != nil {
		return "", fmt.Errorf("create network %s: %w", name, err)
	}
	return resp.ID, nil
}

// networksNamed lists the IDs of the networks called exactly name (the
// engine's name filter matches substrings), oldest first.
func networksNamed(ctx context.Context, cli *client.Client, name string) ([]string, error) {
	list, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	slices.SortFunc(list, func(a, b network.Summary) int { return a.Created.Compare(b.Created) })
	var ids []string
	for _, n := range list {
		if n.Name == name {
			ids = append(ids, n.ID)
		}
	}
	return ids, nil
}

// networkEndpoint attaches a container to project's network under its resource
// name and aliases.
func networkEndpoint(project, resource string, aliases []string) *network.NetworkingConfig {
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		NetworkName(project): {Aliases: append([]string{resource}, aliases...)},
	}}
}
