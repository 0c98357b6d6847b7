//go:build linux

// Package containerd runs container resources directly on containerd, for
// images that are already in its image store (no Docker engine needed).
//
// Start finds the image in the runtime's namespace (unpacking it into the
// snapshotter if needed), creates or adopts the container
// loop-<project>-<resource> and starts its task with loop's supervisor (the
// static loopd, bind-mounted read-only at /.loop/loopd) as PID 1, exactly as
// the docker runtime does, so restart-in-place (signal 39), `__rm` and exec
// work the same way. Containers carry the dev.loop.project,
// dev.loop.resource and dev.loop.config (a hash of the configuration)
// labels: a restarted daemon adopts a container whose configuration is
// unchanged (re-attaching to its running task's output when it can) and
// replaces one whose configuration changed.
//
// Supported: image entrypoint/cmd (or the resource's), env, user, workdir,
// bind mounts and named volumes (read-only or not), privileged, cap_add, keep-alive, live
// update and exec. Live update's policy (rebuild_on, the sync plan with the
// ignore rules, run steps, restart in place) is package liveupdate's; the
// handle is its Driver (update.go). A new task gets
// every synced file before its command starts (written into the created
// task's root); an adopted running one is diffed with `loopd __hash`.
// Files are synced by extracting the tar stream on the host into the
// container's root as /proc/<pid>/root shows it (so a path below a bind
// mount lands in the mount, as it would inside the container), resolving
// every path inside that root with filepath-securejoin's pathrs-lite, so
// nothing escapes it; deletes run `/.loop/loopd __rm` in the container.
// A container whose task exited is synced into its mounted snapshot (the
// exited task removed first), deletes included, for its next task.
// File secrets (Spec.Files) are written the same way before the service
// starts (0400, owned by the container user); /run/secrets is a tmpfs of
// its own, so their values never reach the snapshot on disk.
//
// Named volumes live in nerdctl's volume store (volumes.go).
//
// Networking is nerdctl's (network.go, subnet.go, attach.go, hosts.go,
// firewall.go): each project has a CNI bridge network loop-<project> (a
// conflist in nerdctl's place and format, so `nerdctl network ls` lists
// it), every container its own
// network namespace, pinned for its task's lifetime, with the resource
// name as hostname and its published ports (remapping allowed) on
// 127.0.0.1 through the portmap plugin, as the docker runtime publishes
// them. Containers reach each other by resource name, alias or container
// ID through an /etc/hosts of their own, rewritten in place in every
// container of the project as one starts or goes away. Deleting a task
// releases its address and rules; Sweep (`loop down`, daemon stop) removes
// leftover containers and then the network (sweep.go). The CNI plugins
// come from the host (Debian's containernetworking-plugins).
//
// Not supported, with a clear error: image builds (build with the docker
// runtime, or import the image: `docker save IMG | ctr -n loop images import -`).
package containerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/loopdev/loop/internal/runtime"
)

// Labels loop puts on the containers it creates (the same as the docker
// runtime's).
const (
	LabelProject  = "dev.loop.project"
	LabelResource = "dev.loop.resource"
	LabelConfig   = "dev.loop.config"
)

// Defaults for a Runtime that leaves them empty.
const (
	DefaultAddress     = "/run/containerd/containerd.sock"
	DefaultNamespace   = "loop"
	DefaultSnapshotter = "overlayfs"
)

// ErrUnavailable is wrapped by every error caused by an unreachable
// containerd.
var ErrUnavailable = errors.New("containerd unavailable")

// Runtime starts container resources on containerd. Connecting happens on
// first use; Close releases the connection.
type Runtime struct {
	Address     string // containerd socket; "": $LOOP_CONTAINERD_ADDRESS, else DefaultAddress
	Namespace   string // "": $LOOP_CONTAINERD_NAMESPACE, else DefaultNamespace
	Snapshotter string // "": DefaultSnapshotter
	// Supervisor is the host path of a static supervisor (loop-supervisor
	// or loopd) to mount at /.loop/loopd; "": supervise.Find's lookup.
	Supervisor string
	// DataRoot holds named volumes, in nerdctl's layout; "":
	// $LOOP_CONTAINERD_DATA_ROOT, else DefaultDataRoot (nerdctl's own).
	DataRoot string
	// CNIPath is the directory of the CNI plugins; "": $LOOP_CNI_PATH,
	// else the first of /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni
	// that has them.
	CNIPath string
	// CNIConfPath is where project networks' conflists are; "":
	// $LOOP_CNI_NETCONFPATH, else DefaultCNIConfPath (nerdctl's).
	CNIConfPath string
	Logger      *slog.Logger // nil: slog.Default()

	mu   sync.Mutex
	cli  *client.Client
	nets map[string]*network // loaded project networks, by name
}

var _ runtime.Runtime = (*Runtime)(nil)

func (r *Runtime) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Runtime) address() string {
	return firstNonEmpty(r.Address, os.Getenv("LOOP_CONTAINERD_ADDRESS"), DefaultAddress)
}

func (r *Runtime) namespace() string {
	return firstNonEmpty(r.Namespace, os.Getenv("LOOP_CONTAINERD_NAMESPACE"), DefaultNamespace)
}

func (r *Runtime) snapshotter() string {
	return firstNonEmpty(r.Snapshotter, DefaultSnapshotter)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// client returns the connected client, dialling the first time.
func (r *Runtime) client(ctx context.Context) (*client.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cli != nil {
		return r.cli, nil
	}
	addr := r.address()
	if _, err := os.Stat(addr); err != nil {
		return nil, fmt.Errorf("%w: no containerd socket at %s (%v): start containerd, or set LOOP_CONTAINERD_ADDRESS (Docker's own containerd listens on /var/run/docker/containerd/containerd.sock)", ErrUnavailable, addr, err)
	}
	cli, err := client.New(addr, client.WithDefaultNamespace(r.namespace()), client.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("%w: connect to %s: %v; is containerd running, and may this user open its socket?", ErrUnavailable, addr, err)
	}
	if _, err := cli.Version(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: containerd at %s does not answer: %v", ErrUnavailable, addr, err)
	}
	r.cli = cli
	return cli, nil
}

// Close closes the connection to containerd. Running containers keep
// running; handles must not be used afterwards.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cli == nil {
		return nil
	}
	err := r.cli.Close()
	r.cli = nil
	return err
}

// ctx returns ctx in the runtime's namespace.
func (r *Runtime) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.namespace())
}

// Start creates (or adopts) the resource's container and starts it. ctx
// bounds only the start.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	h, err := r.start(r.ctx(ctx), spec)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	return h, nil
}

func (r *Runtime) start(ctx context.Context, spec runtime.Spec) (*handle, error) {
	c := spec.Container
	if c == nil {
		return nil, errors.New("not a container resource")
	}
	if c.Build != nil {
		from := c.Build.Dockerfile
		if c.Build.Generated != nil {
			from = "the Dockerfile loop generates to install its devcontainer Features"
		}
		return nil, fmt.Errorf("image %s is built from %s: the containerd runtime runs images already present in containerd; build with the docker runtime or import the image (docker save IMAGE | ctr -n %s images import -)",
			c.Image, from, r.namespace())
	}
	cfg, err := r.config(ctx, spec)
	if err != nil {
		return nil, err
	}
	cli, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	img, err := r.image(ctx, cli, c.Image)
	if err != nil {
		return nil, err
	}
	ic, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", c.Image, err)
	}
	argv, err := cfg.command(ic.Config)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", c.Image, err)
	}
	id := containerID(spec.Project, spec.Name)
	logger := r.logger().With("resource", spec.Name, "container", id)
	hash, err := cfg.hash(img.Target().Digest.String())
	if err != nil {
		return nil, err
	}

	ctr, err := cli.LoadContainer(ctx, id)
	switch {
	case errdefs.IsNotFound(err):
		ctr = nil
	case err != nil:
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	if ctr != nil {
		labels, err := ctr.Labels(ctx)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", id, err)
		}
		if labels[LabelProject] == "" {
			return nil, fmt.Errorf("container %s exists in namespace %s and was not created by loop: remove it (ctr -n %s containers rm %s) or rename the resource", id, r.namespace(), r.namespace(), id)
		}
		if labels[LabelProject] == spec.Project && labels[LabelResource] == spec.Name && labels[LabelConfig] == hash {
			h, err := r.adopt(ctx, cli, ctr, spec, cfg, logger)
			if err != nil {
				return nil, err
			}
			if h != nil {
				return h, nil
			}
		} else {
			logger.Info("replacing container: configuration changed")
			if err := r.removeContainer(ctx, ctr, labels[LabelProject]); err != nil {
				return nil, err
			}
			ctr = nil
		}
	}
	// Nothing else holds the ports: check them only now, so an adopted
	// container's own listeners do not count.
	if err := portsFree(c.Ports); err != nil {
		return nil, err
	}
	if err := r.ensureVolumes(ctx, cli, img, spec.Project, cfg.volumes); err != nil {
		return nil, err
	}
	if cfg.net, err = r.network(spec.Project, true); err != nil {
		return nil, err
	}
	if ctr == nil {
		ctr, err = r.create(ctx, cli, id, img, spec, cfg, hash, argv)
		if err != nil {
			return nil, err
		}
	}
	return r.startTask(ctx, cli, ctr, spec, cfg, logger)
}

// image returns ref from the image store, unpacked into the snapshotter.
// A short Docker-style name ("busybox", "loop-test/busybox") is also
// looked up in its normalized form ("docker.io/library/busybox:latest"),
// the name `ctr images import` stores.
func (r *Runtime) image(ctx context.Context, cli *client.Client, ref string) (client.Image, error) {
	img, err := cli.GetImage(ctx, ref)
	if errdefs.IsNotFound(err) {
		if named, perr := reference.ParseNormalizedNamed(ref); perr == nil {
			img, err = cli.GetImage(ctx, reference.TagNameOnly(named).String())
		}
	}
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("image %s is not in containerd namespace %s: the containerd runtime runs images already present in containerd; import it (docker save %s | ctr -n %s images import -)",
			ref, r.namespace(), ref, r.namespace())
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	ok, err := img.IsUnpacked(ctx, r.snapshotter())
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if !ok {
		if err := img.Unpack(ctx, r.snapshotter()); err != nil {
			return nil, fmt.Errorf("unpack image %s into %s: %w", ref, r.snapshotter(), err)
		}
	}
	return img, nil
}

// create creates the container with a fresh snapshot of img.
func (r *Runtime) create(ctx context.Context, cli *client.Client, id string, img client.Image, spec runtime.Spec, cfg *config, hash string, argv []string) (client.Container, error) {
	ctr, err := cli.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithSnapshotter(r.snapshotter()),
		client.WithNewSnapshot(id, img),
		client.WithContainerLabels(map[string]string{
			LabelProject:  spec.Project,
			LabelResource: spec.Name,
			LabelConfig:   hash,
		}),
		client.WithNewSpec(cfg.specOpts(img, argv)...),
	)
	if err != nil {
		if errdefs.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create container %s: %w (a snapshot of that name may be left over: ctr -n %s snapshots rm %s)", id, err, r.namespace(), id)
		}
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	return ctr, nil
}

// removeContainer kills and deletes ctr's task (releasing its network in
// project's), then ctr and its snapshot.
func (r *Runtime) removeContainer(ctx context.Context, ctr client.Container, project string) error {
	if task, err := ctr.Task(ctx, nil); err == nil {
		if err := r.deleteTask(ctx, task, project, client.WithProcessKill); err != nil {
			return fmt.Errorf("remove task of %s: %w", ctr.ID(), err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("task of %s: %w", ctr.ID(), err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", ctr.ID(), err)
	}
	return nil
}

// validID is containerd's identifier syntax.
var (
	validID   = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
	invalidID = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// containerID is loop-<project>-<resource>, with every run of characters
// containerd does not accept replaced by "-".
func containerID(project, resource string) string {
	return identifier("loop-"+project+"-"+resource, 76)
}

// identifier makes s a containerd identifier of at most max bytes: every
// run of other characters becomes "-".
func identifier(s string, max int) string {
	if validID.MatchString(s) && len(s) <= max {
		return s
	}
	s = strings.Trim(invalidID.ReplaceAllString(s, "-"), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-._")
	}
	return s
}
