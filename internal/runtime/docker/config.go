package docker

// What a container is made of: its configuration from the resource and
// the image, the hash that decides whether a container can be adopted, and
// the names loop gives containers and volumes.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

var badName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// VolumeName scopes a named volume to its project, as Compose does
// ("data" in project "shop" is the volume "shop_data"), so two projects
// never share one by accident.
func VolumeName(project, name string) string {
	return badName.ReplaceAllString(project, "-") + "_" + name
}

// ContainerName is the name of resource's container in project.
func ContainerName(project, resource string) string {
	return "loop-" + badName.ReplaceAllString(project, "-") + "-" + badName.ReplaceAllString(resource, "-")
}

// containerConfig is the container loop creates for spec; super is the
// host path of the supervisor to bind-mount ("" when it is copied in).
func containerConfig(spec runtime.Spec, ref string, img image.InspectResponse, super string) (*container.Config, *container.HostConfig, error) {
	if err := model.CheckEnviron(spec.Env); err != nil {
		return nil, nil, err
	}
	c := spec.Container
	sig := spec.StopSignal
	if sig == 0 {
		sig = DefaultStopSignal
	}
	timeout := spec.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	entry := supervisorFlags(sig, timeout)
	if c.KeepAlive {
		entry = append(entry, "--keepalive")
	} else {
		ep, cmd := c.Entrypoint, c.Cmd
		if ep == nil && img.Config != nil {
			ep = img.Config.Entrypoint
			if cmd == nil {
				cmd = img.Config.Cmd
			}
		}
		argv := append(append([]string{}, ep...), cmd...)
		if len(argv) == 0 {
			return nil, nil, fmt.Errorf("image %s has no entrypoint or command: set cmd", ref)
		}
		entry = append(append(entry, "--"), argv...)
	}
	stopSecs := int((timeout + stopGrace).Seconds())
	cfg := &container.Config{
		Image:       ref,
		Env:         spec.Env,
		User:        c.User,
		WorkingDir:  c.Workdir,
		Entrypoint:  entry,
		Cmd:         []string{},
		StopTimeout: &stopSecs,
		Labels: map[string]string{
			LabelProject:  spec.Project,
			LabelResource: spec.Name,
		},
		ExposedPorts: nat.PortSet{},
	}
	hcfg := &container.HostConfig{
		PortBindings: nat.PortMap{},
		Privileged:   c.Privileged,
		CapAdd:       c.CapAdd,
		NetworkMode:  container.NetworkMode(NetworkName(spec.Project)),
		ExtraHosts:   []string{hostGateway},
	}
	if super != "" {
		hcfg.Mounts = append(hcfg.Mounts, mount.Mount{Type: mount.TypeBind, Source: super, Target: supervisorPath, ReadOnly: true})
	}
	for _, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		host := p.Host
		if host == 0 {
			host = p.Container
		}
		port := nat.Port(strconv.Itoa(p.Container) + "/" + proto)
		cfg.ExposedPorts[port] = struct{}{}
		hcfg.PortBindings[port] = append(hcfg.PortBindings[port], nat.PortBinding{HostIP: "127.0.0.1", HostPort: strconv.Itoa(host)})
	}
	for _, v := range c.Volumes {
		m := mount.Mount{Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		if v.Named {
			m.Type, m.Source = mount.TypeVolume, VolumeName(spec.Project, v.Source)
		}
		hcfg.Mounts = append(hcfg.Mounts, m)
	}
	return cfg, hcfg, nil
}

// configHash identifies a container configuration: a container whose
// dev.loop.config label differs is replaced.
func configHash(imageID string, cfg *container.Config, hcfg *container.HostConfig, netcfg *network.NetworkingConfig) string {
	h := sha256.New()
	io.WriteString(h, imageID+"\x00")
	json.NewEncoder(h).Encode(cfg)
	json.NewEncoder(h).Encode(hcfg)
	json.NewEncoder(h).Encode(netcfg)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// effectiveUser is the user the container's processes run as.
func effectiveUser(user string, img image.InspectResponse) string {
	if user == "" && img.Config != nil {
		return img.Config.User
	}
	return user
}
