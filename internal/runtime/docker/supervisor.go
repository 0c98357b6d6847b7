package docker

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/supervise"
)

// supervisorPath is where the supervisor is mounted in every container.
const supervisorPath = "/.loop/loopd"

// supervisor returns the host path of the static supervisor to mount (see
// supervise.Find) for the engine's architecture, found once per Runtime.
func (r *Runtime) supervisor(ctx context.Context, cli *client.Client) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.super != "" {
		return r.super, nil
	}
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("supervisor: ask the engine its architecture: %w", err)
	}
	arch, err := linuxArch(v.Os, v.Arch, r.host)
	if err != nil {
		return "", err
	}
	f, err := supervise.Find(ctx, supervise.Lookup{Home: r.Home, Override: r.Supervisor, Arch: arch})
	if err != nil {
		return "", err
	}
	if f.From == supervise.FromBuild {
		r.logger().Info("built the container supervisor", "path", f.Path, "from", f.Origin, "arch", f.Arch, "took", f.Took)
	}
	r.super, r.superSum = f.Path, f.Sum
	return f.Path, nil
}

// copySupervisor copies the supervisor into a created container, for
// engines that cannot bind-mount a path of this host (a remote DOCKER_HOST).
func (h *handle) copySupervisor(ctx context.Context, super string) error {
	f, err := os.Open(super)
	if err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		dir := strings.TrimPrefix(path.Dir(supervisorPath), "/") + "/"
		err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: fi.ModTime()})
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(supervisorPath, "/"), Mode: 0o755, Size: fi.Size(), ModTime: fi.ModTime()})
		}
		if err == nil {
			_, err = io.CopyN(tw, f, fi.Size())
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	if err := h.cli.CopyToContainer(ctx, h.id, "/", pr, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	return nil
}

// linuxArch is the architecture of the supervisor an engine that reports
// os and arch (its /version) runs: dev containers are Linux containers,
// whatever the host is (Docker Desktop on macOS and Windows runs them in a
// Linux VM), so an engine running Windows containers is refused.
func linuxArch(os, arch, host string) (string, error) {
	if os != "" && os != "linux" {
		return "", fmt.Errorf("the Docker engine at %s runs %s containers; loop's dev containers are Linux containers: switch the engine to Linux containers (Docker Desktop: \"Switch to Linux containers...\")", host, os)
	}
	if arch == "" {
		return "", fmt.Errorf("the Docker engine at %s did not say its architecture (/version has no Arch)", host)
	}
	return arch, nil
}
