package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/supervise"
)

// Defaults for a Spec that leaves them zero.
const (
	DefaultStopSignal  = syscall.SIGTERM
	DefaultStopTimeout = 10 * time.Second
)

// stopGrace is added to the stop timeout before Docker kills the
// supervisor: the supervisor itself escalates to SIGKILL at the timeout.
const stopGrace = 5 * time.Second

// mutationTimeout bounds a request that makes something in the engine
// (network, container) or starts or removes a container.
const mutationTimeout = 2 * time.Minute

// settled is the context of such a request: not cancelled with ctx.
// Aborting the request client-side does not abort it in the engine,
// which completes it after loop stopped looking — a container created or
// started, or a network made, after `loop down` removed the project's.
// So the request finishes, and its caller then notices that ctx ended and
// undoes what was made.
func settled(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), mutationTimeout)
}

// Start builds the image if needed, creates (or adopts) the container,
// syncs the project files into it, starts it and runs the devcontainer
// lifecycle commands. ctx bounds only the start. A start cut short by
// ctx waits for the create or start request in flight, then removes the
// container it created; an adopted container is left as it is, for the
// caller to keep or remove.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	h, err := r.start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	return h, nil
}

// prepared is what a start decided before touching a container: the image,
// the container's configuration and its hash.
type prepared struct {
	ref    string // the image reference (built, or the resource's)
	img    image.InspectResponse
	super  string // host path of the supervisor
	cfg    *container.Config
	hcfg   *container.HostConfig
	netcfg *network.NetworkingConfig
}

func (r *Runtime) start(ctx context.Context, spec runtime.Spec) (*handle, error) {
	c := spec.Container
	if c == nil {
		return nil, errors.New("not a container resource")
	}
	cli, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	out := newOutputs(spec.Stdout, spec.Stderr)
	p, err := r.prepare(ctx, cli, spec, out)
	if err != nil {
		return nil, err
	}
	id, running, err := r.adopt(ctx, cli, spec, p.cfg.Labels[LabelConfig])
	if err != nil {
		return nil, err
	}
	created := id == ""
	if created {
		if id, err = r.create(ctx, cli, spec, p); err != nil {
			return nil, err
		}
	} else {
		r.logger().Info("container adopted", "resource", spec.Name, "container", shortID(id), "running", running)
	}

	h := &handle{r: r, cli: cli, spec: spec, c: c, id: id, out: out, done: make(chan struct{})}
	h.recv.Start = h.startRecv
	h.restarts = supervise.NewRestarts(out.stderr)
	h.live = h.newLive()
	if created && r.copySuper {
		if err := h.copySupervisor(ctx, p.super); err != nil {
			return nil, h.fail(ctx, true, err)
		}
	}
	if h.uid, h.gid, err = h.resolveUser(ctx, effectiveUser(c.User, p.img)); err != nil {
		return nil, h.fail(ctx, created, err)
	}
	if !created && !running {
		if running, err = h.startedMeanwhile(ctx); err != nil {
			return nil, err
		}
	}
	since := ""
	if running {
		since = time.Now().Format(time.RFC3339Nano)
		if err := h.initialSync(ctx, true); err != nil {
			return nil, err
		}
		if err := h.writeFiles(ctx); err != nil {
			return nil, err
		}
	} else {
		if !created {
			since = time.Now().Format(time.RFC3339Nano)
		}
		if err := h.startStopped(ctx, created); err != nil {
			return nil, err
		}
	}
	if err := h.ready(ctx, since, !running); err != nil {
		return nil, err
	}
	return h, nil
}

// prepare runs the devcontainer's initializeCommand on the host, builds or
// finds the image, finds the supervisor and makes the container's
// configuration, labelled with its hash.
func (r *Runtime) prepare(ctx context.Context, cli *client.Client, spec runtime.Spec, out *outputs) (*prepared, error) {
	c := spec.Container
	if c.Lifecycle != nil && c.Lifecycle.Initialize != nil {
		if err := runHostCommand(ctx, spec.ProjectDir, c.Lifecycle.Initialize, out); err != nil {
			return nil, fmt.Errorf("initializeCommand: %w", err)
		}
	}
	p := &prepared{ref: c.Image}
	var err error
	if c.Build != nil {
		if p.ref, err = r.buildImage(ctx, cli, spec.Project, c.Build, out.stdout); err != nil {
			return nil, err
		}
	}
	if p.img, err = cli.ImageInspect(ctx, p.ref); err != nil {
		if client.IsErrNotFound(err) {
			return nil, fmt.Errorf("image %s is not present locally and no registry is reachable: build it or docker load it", p.ref)
		}
		return nil, fmt.Errorf("inspect image %s: %w", p.ref, err)
	}
	if p.super, err = r.supervisor(ctx, cli); err != nil {
		return nil, err
	}
	bindSuper := ""
	if !r.copySuper {
		bindSuper = p.super
	}
	if p.cfg, p.hcfg, err = containerConfig(spec, p.ref, p.img, bindSuper); err != nil {
		return nil, err
	}
	p.cfg.Labels[LabelSupervisor] = r.superSum
	p.netcfg = networkEndpoint(spec.Project, spec.Name, c.Aliases)
	p.cfg.Labels[LabelConfig] = configHash(p.img.ID, p.cfg, p.hcfg, p.netcfg)
	return p, nil
}

// create makes the container (its volumes and the project's network first)
// and returns its ID. A create called off after the engine made it is
// undone.
func (r *Runtime) create(ctx context.Context, cli *client.Client, spec runtime.Spec, p *prepared) (string, error) {
	if err := r.prepareMounts(ctx, cli, spec); err != nil {
		return "", err
	}
	if err := portsFree(spec.Container.Ports); err != nil {
		return "", err
	}
	netID, err := r.ensureNetwork(ctx, cli, spec.Project)
	if err != nil {
		return "", err
	}
	// By ID: the name may be ambiguous on an old engine. (The config hash
	// used the name, which stays the same.)
	p.hcfg.NetworkMode = container.NetworkMode(netID)
	netcfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		netID: p.netcfg.EndpointsConfig[NetworkName(spec.Project)],
	}}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	mctx, cancel := settled(ctx)
	resp, err := cli.ContainerCreate(mctx, p.cfg, p.hcfg, netcfg, nil, ContainerName(spec.Project, spec.Name))
	cancel()
	if err != nil {
		return "", fmt.Errorf("create container: %w", err)
	}
	r.logger().Info("container created", "resource", spec.Name, "container", shortID(resp.ID), "image", p.ref)
	if err := ctx.Err(); err != nil {
		r.remove(ctx, spec.Name, resp.ID)
		return "", err
	}
	return resp.ID, nil
}

// startedMeanwhile checks the ports of an adopted stopped container before
// it is started. A start of it may have landed since it was listed (asked by
// a loopd killed while starting it): it holds the ports then, and is adopted
// running.
func (h *handle) startedMeanwhile(ctx context.Context) (running bool, err error) {
	err = portsFree(h.c.Ports)
	if err == nil {
		return false, nil
	}
	if info, ierr := h.cli.ContainerInspect(ctx, h.id); ierr != nil || info.State == nil || !info.State.Running {
		return false, err
	}
	h.r.logger().Info("adopted container started meanwhile: adopted running", "resource", h.spec.Name, "container", shortID(h.id))
	return true, nil
}

// startStopped syncs into a container that is not running, writes its
// files and starts it; the deletes queued while an adopted one was stopped
// are applied before it returns. A container this start created is removed
// when that fails.
func (h *handle) startStopped(ctx context.Context, created bool) error {
	if err := h.initialSync(ctx, false); err != nil {
		return h.fail(ctx, created, err)
	}
	if err := h.writeFiles(ctx); err != nil {
		return h.fail(ctx, created, err)
	}
	pending := false
	if !created {
		var err error
		if pending, err = h.prunePendingDeletes(ctx); err != nil {
			return fmt.Errorf("check pending deletes: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return h.fail(ctx, created, err)
	}
	mctx, cancel := settled(ctx)
	err := h.cli.ContainerStart(mctx, h.id, container.StartOptions{})
	cancel()
	if err == nil {
		err = ctx.Err() // started, but called off meanwhile
	}
	if err != nil {
		return h.fail(ctx, created, fmt.Errorf("start container: %w", err))
	}
	if pending {
		if err := h.awaitDeletes(ctx); err != nil {
			return fmt.Errorf("wait for the deletes queued while it was stopped: %w", err)
		}
	}
	return nil
}

// ready watches the running container (its output since since, "" for
// all), resolves its remote env and runs the devcontainer lifecycle
// (postStartCommand only when loop started it). When that fails the
// container is stopped and removed: the next start creates it again and
// reruns the steps, and `loop down` finds nothing left behind.
func (h *handle) ready(ctx context.Context, since string, started bool) error {
	info, err := h.cli.ContainerInspect(ctx, h.id)
	var containerEnv []string
	if err == nil && info.State != nil {
		h.pid = info.State.Pid
	}
	if err == nil && info.Config != nil {
		containerEnv = info.Config.Env
	}
	h.watch(since)
	err = h.resolveEnv(ctx, containerEnv)
	if err == nil {
		err = h.lifecycle(ctx, started)
	}
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), h.stopTimeout()+stopGrace+5*time.Second)
		defer cancel()
		t := int((h.stopTimeout() + stopGrace).Seconds())
		_ = h.cli.ContainerStop(sctx, h.id, container.StopOptions{Timeout: &t})
		<-h.done
		_ = h.cli.ContainerRemove(sctx, h.id, container.RemoveOptions{Force: true})
		return err
	}
	return nil
}

// fail removes a container Start created before failing.
func (h *handle) fail(ctx context.Context, created bool, err error) error {
	if created {
		h.r.remove(ctx, h.spec.Name, h.id)
	}
	return err
}

// remove force-removes container id of resource, also when ctx has ended;
// a failure is logged (`loop down` sweeps what is left, and reports it).
func (r *Runtime) remove(ctx context.Context, resource, id string) {
	rctx, cancel := settled(ctx)
	defer cancel()
	cli, err := r.client(rctx)
	if err == nil {
		err = cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true})
	}
	if err != nil && !client.IsErrNotFound(err) {
		r.logger().Warn("remove container", "resource", resource, "container", shortID(id), "err", err)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// adopt finds the container loop made earlier for spec's resource: one
// with the same configuration is kept (its ID returned), any other is
// removed.
func (r *Runtime) adopt(ctx context.Context, cli *client.Client, spec runtime.Spec, confHash string) (id string, running bool, err error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelProject+"="+spec.Project),
		filters.Arg("label", LabelResource+"="+spec.Name),
	)})
	if err != nil {
		return "", false, fmt.Errorf("list containers: %w", err)
	}
	for _, s := range list {
		if id == "" && s.Labels[LabelConfig] == confHash && s.State != "removing" && s.State != "dead" {
			id, running = s.ID, s.State == "running"
			continue
		}
		r.logger().Info("removing outdated container", "resource", spec.Name, "container", shortID(s.ID))
		if err := cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			return "", false, fmt.Errorf("remove outdated container %s: %w", shortID(s.ID), err)
		}
	}
	return id, running, nil
}

// prepareMounts checks that bind sources exist and creates missing named
// volumes, labelled with the project.
func (r *Runtime) prepareMounts(ctx context.Context, cli *client.Client, spec runtime.Spec) error {
	for _, v := range spec.Container.Volumes {
		if !v.Named {
			if _, err := os.Stat(v.Source); err != nil {
				return fmt.Errorf("volume %s -> %s: the host path does not exist (%w): create it or fix the volume", v.Source, v.Target, err)
			}
			continue
		}
		name := VolumeName(spec.Project, v.Source)
		if _, err := cli.VolumeInspect(ctx, name); err == nil {
			continue
		} else if !client.IsErrNotFound(err) {
			return fmt.Errorf("inspect volume %s: %w", name, err)
		}
		if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: map[string]string{LabelProject: spec.Project}}); err != nil {
			return fmt.Errorf("create volume %s: %w", name, err)
		}
	}
	return nil
}

// portsFree checks that every published host port is free on 127.0.0.1.
func portsFree(ports []model.PortMap) error {
	return runtime.PortsFree("127.0.0.1", ports, "; stop what uses it or publish another host port")
}

// Remove removes the container of a resource that has no running handle
// (it exited and waits for a crash restart, or was disabled): `loop down`
// leaves no container behind.
func (r *Runtime) Remove(ctx context.Context, spec runtime.Spec) error {
	cli, err := r.client(ctx)
	if err != nil {
		return err
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelProject+"="+spec.Project),
		filters.Arg("label", LabelResource+"="+spec.Name),
	)})
	if err != nil {
		return fmt.Errorf("remove %s: list containers: %w", spec.Name, err)
	}
	for _, s := range list {
		if err := cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("remove %s: %w", spec.Name, err)
		}
	}
	return nil
}
