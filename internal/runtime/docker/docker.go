// Package docker runs container resources on a Docker engine.
//
// Start builds the resource's image (content-addressed, so an unchanged
// context never rebuilds), creates or adopts its container and starts it
// with loop's supervisor (the static loopd binary, bind-mounted read-only at
// /.loop/loopd) as PID 1. The supervisor runs the service and restarts it in
// place when asked (signal 39), so a restart keeps the container, its
// network and whatever was installed in it.
//
// Containers are named loop-<project>-<resource> and labelled with the
// project, the resource and a hash of their configuration: a restarted
// daemon adopts a container whose configuration is unchanged instead of
// duplicating it, and replaces one whose configuration changed.
//
// Files reach the container as tar streams through the engine API
// (CopyToContainer), deletes through the supervisor (`loopd __rm`), so
// images need neither tar nor a shell; that also works for FROM scratch
// images and, for deletes, for stopped containers (a list the supervisor
// applies before its next start). Live update's policy is package
// liveupdate's; the handle is its Driver (update.go), and Exec (exec.go)
// is the one docker exec of loopd and the CLI.
//
// Nothing is left behind. A request that makes something in the engine
// (a network, a container, its start, an image build) is never abandoned
// mid-way when a start is cancelled: the engine would complete it after
// loop stopped looking. It runs to its end, then the start notices the
// cancellation and undoes what it made (a build is made to fail). Sweep,
// which ends `loop down` and daemon stop, removes whatever is still
// labelled with the project, containers first, then its network.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/runtime"
)

// Labels loop puts on what it creates.
const (
	LabelProject  = "dev.loop.project"
	LabelResource = "dev.loop.resource"
	LabelConfig   = "dev.loop.config"
	// LabelSupervisor is the content hash of the supervisor the container
	// runs: a new loopd recreates containers.
	LabelSupervisor = "dev.loop.supervisor"
)

// ErrUnavailable is wrapped by every error caused by an unreachable Docker
// engine.
var ErrUnavailable = errors.New("docker engine unavailable")

// Runtime starts container resources on a Docker engine. Connecting
// happens on first use.
type Runtime struct {
	Logger *slog.Logger // nil: slog.Default()
	Home   string       // loop's state root (LOOP_HOME): the supervisor copy lives in <Home>/bin
	// Supervisor is the path of a static supervisor (loop-supervisor or
	// loopd) to mount into containers; "" uses supervise.Find's lookup
	// ($LOOP_SUPERVISOR, loopd if static, one next to it, one built).
	Supervisor string

	mu       sync.Mutex
	netMu    sync.Mutex               // one network creation at a time: engines on API < 1.44 allow duplicate names
	builds   map[string]chan struct{} // under mu: image builds in progress, by tag (closed when done)
	cli      *client.Client
	host     string // the engine address tried, for errors
	pinged   bool
	super    string // resolved supervisor path
	superSum string // its content hash
	// copySuper: the engine is not on this host (DOCKER_HOST tcp:// or
	// ssh://), so the supervisor is copied into each container instead of
	// bind-mounted.
	copySuper bool
	warnings  engineWarnings
}

var (
	_ runtime.Runtime      = (*Runtime)(nil)
	_ runtime.EngineWarner = (*Runtime)(nil)
)

// New returns a Runtime; it connects to Docker on first use.
func New(logger *slog.Logger, home string) *Runtime {
	return &Runtime{Logger: logger, Home: home}
}

func (r *Runtime) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Ping checks that the Docker engine answers; the error wraps
// ErrUnavailable and says what to do.
func (r *Runtime) Ping(ctx context.Context) error {
	_, err := r.client(ctx)
	return err
}

// client returns the connected client, creating and pinging it the first
// time (the ping also negotiates the API version).
func (r *Runtime) client(ctx context.Context) (*client.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cli == nil {
		cli, host, err := Connect()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		r.cli, r.host = cli, host
		r.copySuper = !strings.HasPrefix(r.host, "unix://") && !strings.HasPrefix(r.host, "npipe://")
	}
	if !r.pinged {
		if _, err := r.cli.Ping(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("connect to docker at %s: %w", r.host, ctx.Err())
			}
			return nil, fmt.Errorf("%w: cannot reach the Docker engine at %s (%v): start it (`sudo systemctl start docker`, or run dockerd), or set DOCKER_HOST to an engine you can reach",
				ErrUnavailable, r.host, err)
		}
		r.pinged = true
	}
	return r.cli, nil
}

// RemoveVolumes removes the named volumes loop created for project (loop
// down --volumes).
func (r *Runtime) RemoveVolumes(ctx context.Context, project string) error {
	cli, err := r.client(ctx)
	if err != nil {
		return err
	}
	list, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
	if err != nil {
		return fmt.Errorf("list volumes of %s: %w", project, err)
	}
	var errs []error
	for _, v := range list.Volumes {
		if err := cli.VolumeRemove(ctx, v.Name, false); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w (is a container still using it? `loop down` first)", v.Name, err))
		}
	}
	return errors.Join(errs...)
}
