package docker

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/signame"
)

// Images builds, inspects, tags, exports and pushes images on the
// runtime's engine, for runtimes that run them elsewhere (the Kubernetes
// runtime imports the exported image into the cluster, or pushes it to a
// registry the cluster pulls from).
type Images struct{ r *Runtime }

// Images returns the runtime's image operations; they connect on first use.
func (r *Runtime) Images() Images { return Images{r} }

// Build builds img as the runtime's containers do (content-addressed:
// an unchanged context is not rebuilt) and returns its tag.
func (i Images) Build(ctx context.Context, project string, img *model.Image, out io.Writer) (string, error) {
	cli, err := i.r.client(ctx)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, err)
	}
	return i.r.buildImage(ctx, cli, project, img, out)
}

// Inspect returns the image ID of ref and its configuration (entrypoint,
// command, user, working directory).
func (i Images) Inspect(ctx context.Context, ref string) (id string, cfg ocispec.ImageConfig, err error) {
	cli, err := i.r.client(ctx)
	if err != nil {
		return "", cfg, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	info, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", cfg, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if info.Config != nil {
		cfg = info.Config.ImageConfig
	}
	return info.ID, cfg, nil
}

// Tag gives the image src the reference dst too.
func (i Images) Tag(ctx context.Context, src, dst string) error {
	cli, err := i.r.client(ctx)
	if err != nil {
		return fmt.Errorf("tag image %s as %s: %w", src, dst, err)
	}
	if err := cli.ImageTag(ctx, src, dst); err != nil {
		return fmt.Errorf("tag image %s as %s: %w", src, dst, err)
	}
	return nil
}

// Save exports ref as a `docker save` tarball (its RepoTags name ref).
func (i Images) Save(ctx context.Context, ref string) (io.ReadCloser, error) {
	cli, err := i.r.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("export image %s: %w", ref, err)
	}
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("export image %s: %w", ref, err)
	}
	return rc, nil
}

// Push pushes ref to its registry with the credentials `docker login`
// stored and returns the digest the registry stored.
func (i Images) Push(ctx context.Context, ref string, out io.Writer) (string, error) {
	cli, err := i.r.client(ctx)
	if err != nil {
		return "", fmt.Errorf("push image %s: %w", ref, err)
	}
	notes := func(s string) {
		if out != nil {
			fmt.Fprintf(out, "note: %s\n", s)
		}
	}
	return Push(ctx, cli, ref, out, notes)
}

// SupervisorArgv is a container's command line under loop's supervisor
// at /.loop/loopd: stop signal and timeout (defaults for zero values),
// then argv after "--".
func SupervisorArgv(sig syscall.Signal, timeout time.Duration, argv []string) []string {
	if sig == 0 {
		sig = DefaultStopSignal
	}
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	return append(append(supervisorFlags(sig, timeout), "--"), argv...)
}

// supervisorFlags is the supervisor's command line before the service's
// argv (or --keepalive).
func supervisorFlags(sig syscall.Signal, timeout time.Duration) []string {
	return []string{supervisorPath, "supervise", "--stop-signal=" + signame.Flag(sig), "--stop-timeout=" + timeout.String()}
}
