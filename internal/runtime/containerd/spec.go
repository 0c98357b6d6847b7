//go:build linux

package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/signame"
	"github.com/loopdev/loop/internal/supervise"
)

// supervisorPath is where the supervisor is mounted in every container.
const supervisorPath = "/.loop/loopd"

// Defaults for a Spec that leaves them zero.
const (
	DefaultStopSignal  = syscall.SIGTERM
	DefaultStopTimeout = 10 * time.Second
)

// keepAlive is the command of a dev container whose command is overridden
// (devcontainer.json overrideCommand): it idles and exits on SIGTERM.
var keepAlive = []string{"/bin/sh", "-c", `echo Container started; trap "exit 0" 15; while sleep 1 & wait $!; do :; done`}

// config is everything that decides how a container is created; its hash
// (with the image digest) is the dev.loop.config label, so any change in it
// replaces the container.
type config struct {
	Entrypoint  []string // nil: the image's
	Cmd         []string // nil: the image's (unless Entrypoint is set)
	KeepAlive   bool
	Env         []string
	User        string
	Workdir     string
	Mounts      []specs.Mount
	Privileged  bool
	CapAdd      []string
	Supervisor  string // host path of the static loopd
	StopSignal  syscall.Signal
	StopTimeout time.Duration
	// The project network: the container's hostname (its resource name)
	// and the ports published on the host (a changed mapping replaces the
	// container, as on Docker).
	Network  string
	Netns    string // the pinned network namespace
	Hostname string
	Ports    []publishedPort

	volumes []volumeMount // the named volumes among Mounts, made before the container
	net     *network      // the project network, set by start
}

// publishedPort is a container port published on the host.
type publishedPort struct {
	HostIP    string
	Host      int
	Container int
	Protocol  string
}

// config checks spec and turns it into a config.
func (r *Runtime) config(ctx context.Context, spec runtime.Spec) (*config, error) {
	if err := model.CheckEnviron(spec.Env); err != nil {
		return nil, err
	}
	c := spec.Container
	cfg := &config{
		Entrypoint: c.Entrypoint, Cmd: c.Cmd, KeepAlive: c.KeepAlive,
		Env: spec.Env, User: c.User, Workdir: c.Workdir,
		Privileged: c.Privileged, StopSignal: spec.StopSignal, StopTimeout: spec.StopTimeout,
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = DefaultStopSignal
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	for _, cap := range c.CapAdd {
		cap = strings.ToUpper(cap)
		if !strings.HasPrefix(cap, "CAP_") {
			cap = "CAP_" + cap
		}
		cfg.CapAdd = append(cfg.CapAdd, cap)
	}
	id := containerID(spec.Project, spec.Name)
	cfg.Network = networkName(spec.Project)
	cfg.Netns = r.netnsPath(id)
	cfg.Hostname = hostname(spec.Name)
	for _, p := range c.Ports {
		pp := publishedPort{HostIP: hostIP, Host: p.Host, Container: p.Container, Protocol: p.Protocol}
		if pp.Host == 0 {
			pp.Host = pp.Container
		}
		if pp.Protocol == "" {
			pp.Protocol = "tcp"
		}
		cfg.Ports = append(cfg.Ports, pp)
	}
	cfg.Mounts = append(cfg.Mounts,
		specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: r.hostsFile(id), Options: []string{"rbind", "rw"}},
		specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: resolvConf(), Options: []string{"rbind", "ro"}})
	for _, v := range c.Volumes {
		opt := "rw"
		if v.ReadOnly {
			opt = "ro"
		}
		if v.Named {
			if !filepath.IsAbs(v.Target) {
				return nil, fmt.Errorf("volume %s:%s: the target must be an absolute path", v.Source, v.Target)
			}
			name := volumeName(spec.Project, v.Source)
			cfg.volumes = append(cfg.volumes, volumeMount{name: name, source: v.Source, target: v.Target})
			cfg.Mounts = append(cfg.Mounts, specs.Mount{Destination: v.Target, Type: "bind", Source: r.volumeData(name), Options: []string{"rbind", opt}})
			continue
		}
		if !filepath.IsAbs(v.Source) || !filepath.IsAbs(v.Target) {
			return nil, fmt.Errorf("volume %s:%s: both paths must be absolute", v.Source, v.Target)
		}
		if _, err := os.Stat(v.Source); err != nil {
			return nil, fmt.Errorf("volume %s:%s: %w; create the host directory first", v.Source, v.Target, err)
		}
		cfg.Mounts = append(cfg.Mounts, specs.Mount{Destination: v.Target, Type: "bind", Source: v.Source, Options: []string{"rbind", opt}})
	}
	secrets, err := checkFiles(spec.Files)
	if err != nil {
		return nil, err
	}
	if secrets {
		cfg.Mounts = append(cfg.Mounts, secretsMount)
	}
	sup, err := r.supervisor(ctx, spec.Home)
	if err != nil {
		return nil, err
	}
	cfg.Supervisor = sup
	cfg.Mounts = append(cfg.Mounts, specs.Mount{Destination: supervisorPath, Type: "bind", Source: sup, Options: []string{"rbind", "ro"}})
	return cfg, nil
}

// hash is the dev.loop.config label of cfg running image (a digest).
func (cfg *config) hash(image string) (string, error) {
	b, err := json.Marshal(struct {
		V      int
		Image  string
		Config *config
	}{1, image, cfg})
	if err != nil {
		return "", fmt.Errorf("hash configuration: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// command is the service's argv: Docker's rules for combining the image's
// entrypoint and command with the resource's.
func (cfg *config) command(img ocispec.ImageConfig) ([]string, error) {
	if cfg.KeepAlive {
		return keepAlive, nil
	}
	ep, cmd := img.Entrypoint, img.Cmd
	if cfg.Entrypoint != nil {
		ep, cmd = cfg.Entrypoint, nil
	}
	if cfg.Cmd != nil {
		cmd = cfg.Cmd
	}
	argv := append(slices.Clone(ep), cmd...)
	if len(argv) == 0 {
		return nil, errors.New("the image has no entrypoint or command and the resource sets none: set cmd=")
	}
	return argv, nil
}

// args wraps argv in the supervisor.
func (cfg *config) args(argv []string) []string {
	return append([]string{supervisorPath, "supervise",
		"--stop-signal=" + signame.Flag(cfg.StopSignal),
		"--stop-timeout=" + cfg.StopTimeout.String(),
		"--"}, argv...)
}

// specOpts build the OCI spec of a container running argv from img. The
// user is resolved in the container's snapshot, so they must come after
// client.WithNewSnapshot.
func (cfg *config) specOpts(img client.Image, argv []string) []oci.SpecOpts {
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(cfg.args(argv)...),
		oci.WithEnv(cfg.Env),
		oci.WithMounts(cfg.Mounts),
		oci.WithHostname(cfg.Hostname),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: cfg.Netns}),
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	if cfg.Workdir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.Workdir))
	}
	if cfg.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	if len(cfg.CapAdd) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(cfg.CapAdd))
	}
	return opts
}

// resolvConf is the host's resolv.conf for containers: /etc/resolv.conf,
// unless it names a resolver on the host's loopback (systemd-resolved's
// 127.0.0.53), which a container's own network cannot reach; then
// systemd-resolved's list of the real servers, as Docker does.
func resolvConf() string {
	const upstream = "/run/systemd/resolve/resolv.conf"
	b, err := os.ReadFile("/etc/resolv.conf")
	if err == nil && strings.Contains(string(b), "nameserver 127.") {
		if _, err := os.Stat(upstream); err == nil {
			return upstream
		}
	}
	return "/etc/resolv.conf"
}

// hostname is a container's hostname: its resource name, as a host name.
func hostname(resource string) string {
	h := strings.NewReplacer(".", "-", "_", "-").Replace(identifier(resource, 63))
	if h == "" {
		return "container"
	}
	return h
}

// portsFree checks that every published host port is free on hostIP (the
// docker runtime's check).
func portsFree(ports []model.PortMap) error {
	return runtime.PortsFree(hostIP, ports, "; stop what uses it or publish another host port")
}

// supervisor returns the host path of the static supervisor to mount (see
// supervise.Find: the Supervisor field, $LOOP_SUPERVISOR, loopd itself, one
// next to it, or one built for it). containerd is on this host (a local
// socket), so the host's architecture is the engine's.
func (r *Runtime) supervisor(ctx context.Context, home string) (string, error) {
	f, err := supervise.Find(ctx, supervise.Lookup{Home: home, Override: r.Supervisor})
	return f.Path, err
}
