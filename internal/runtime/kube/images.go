package kube

// Getting locally built images to the cluster: build, pin by image ID,
// import into the nodes' containerd unless it has the reference already.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/supervise"
)

// Builder builds images locally (Docker: docker.Runtime.Images).
type Builder interface {
	// Build builds img (content-addressed: unchanged, it is not rebuilt)
	// and returns a local reference to it.
	Build(ctx context.Context, project string, img *model.Image, out io.Writer) (ref string, err error)
	// Inspect returns the image ID of ref and its configuration.
	Inspect(ctx context.Context, ref string) (id string, cfg ocispec.ImageConfig, err error)
	// Tag gives the image src the reference dst too.
	Tag(ctx context.Context, src, dst string) error
	// Save exports ref as a `docker save` tarball.
	Save(ctx context.Context, ref string) (io.ReadCloser, error)
	// Push pushes ref to its registry and returns the stored digest.
	Push(ctx context.Context, ref string, out io.Writer) (digest string, err error)
}

// importer makes local images available to a cluster's nodes.
type importer interface {
	// Ref is the reference the nodes know the pinned local image by.
	Ref(pinned string) string
	// Has reports whether every node has ref.
	Has(ctx context.Context, ref string) (bool, error)
	// Import makes the local image ref available to every node.
	Import(ctx context.Context, ref string, images Builder, out io.Writer) error
	String() string
}

// builtImage is a loop image as the cluster knows it.
type builtImage struct {
	Ref    string // the pinned reference manifests use
	Config ocispec.ImageConfig
}

// pinnedRef is the reference that pins the image with this ID under
// name: name:loop-<16 hex of the ID>, so each build is a new tag (and a
// rollout) and an unchanged one is the same.
func pinnedRef(name, id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 16 {
		id = id[:16]
	}
	repo := strings.ToLower(name)
	if _, err := reference.ParseNormalizedNamed(repo); err != nil || strings.ContainsAny(repo, ":@") {
		repo = "loop/" + strings.Trim(badRepo.Replace(repo), "-._")
	}
	return repo + ":loop-" + id
}

var badRepo = strings.NewReplacer(":", "-", "@", "-", " ", "-", "_", "-")

// image builds img, pins it and makes it available to the cluster.
func (d *deploy) image(ctx context.Context, img *model.Image) (builtImage, error) {
	local, err := d.r.Images.Build(ctx, d.spec.Project, img, d.out())
	if err != nil {
		return builtImage{}, err
	}
	return d.pin(ctx, img.Name, local)
}

// pin tags the local image under its pinned reference and imports it.
func (d *deploy) pin(ctx context.Context, name, local string) (builtImage, error) {
	id, cfg, err := d.r.Images.Inspect(ctx, local)
	if err != nil {
		return builtImage{}, err
	}
	ref := d.imp.Ref(pinnedRef(name, id))
	if err := d.r.Images.Tag(ctx, local, ref); err != nil {
		return builtImage{}, err
	}
	if err := d.r.ensureImported(ctx, d.imp, ref, d.out()); err != nil {
		return builtImage{}, fmt.Errorf("image %s: %w", name, err)
	}
	return builtImage{Ref: ref, Config: cfg}, nil
}

// ensureImported imports ref unless this runtime did already or the
// nodes have it.
func (r *Runtime) ensureImported(ctx context.Context, imp importer, ref string, out io.Writer) error {
	key := imp.String() + "|" + ref
	r.mu.Lock()
	done := r.imported[key]
	r.mu.Unlock()
	if done {
		return nil
	}
	has, err := imp.Has(ctx, ref)
	if err != nil {
		return fmt.Errorf("import into %s: %w", imp, err)
	}
	if !has {
		r.logger().Info("getting an image to the cluster", "ref", ref, "via", imp.String())
		if err := imp.Import(ctx, ref, r.Images, out); err != nil {
			return fmt.Errorf("import into %s: %w", imp, err)
		}
	}
	r.mu.Lock()
	if r.imported == nil {
		r.imported = map[string]bool{}
	}
	r.imported[key] = true
	r.mu.Unlock()
	return nil
}

// supervisorImage is the loop-supervisor image (FROM scratch, /loopd:
// the static supervisor supervise.Find returns) in the cluster.
func (d *deploy) supervisorImage(ctx context.Context) (string, error) {
	f, err := supervise.Find(ctx, supervise.Lookup{Home: d.r.Home, Override: d.r.Supervisor})
	if err != nil {
		return "", err
	}
	sum := f.Sum
	if len(sum) > 16 {
		sum = sum[:16]
	}
	dir := filepath.Join(d.r.Home, "k8s", "supervisor", sum)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("supervisor image: %w", err)
	}
	bin := filepath.Join(dir, "loopd")
	if _, err := os.Stat(bin); err != nil {
		if err := copyFile(f.Path, bin); err != nil {
			return "", fmt.Errorf("supervisor image: %w", err)
		}
	}
	img := &model.Image{Name: "loop-supervisor", Generated: &model.GeneratedContext{
		Dockerfile: "FROM scratch\nCOPY bin/loopd /loopd\n",
		Copies:     []model.ContextCopy{{From: dir, To: "bin"}},
	}}
	b, err := d.image(ctx, img)
	if err != nil {
		return "", fmt.Errorf("supervisor image: %w", err)
	}
	return b.Ref, nil
}

// copyFile copies src to dst (mode 0755) through a temporary file, so
// that dst is whole or absent.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".loopd-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// wrap is the live container's command under the supervisor: the
// manifest's command and args, else the image's entrypoint with the
// manifest's args or the image's command (Kubernetes' rules).
func (d *deploy) wrap(ctx context.Context, image string, command, args []string) ([]string, error) {
	argv := append(append([]string{}, command...), args...)
	if command == nil {
		cfg, ok := d.configs[image]
		if !ok {
			_, c, err := d.r.Images.Inspect(ctx, image)
			if err != nil {
				return nil, fmt.Errorf("the manifest sets no command and the image %s cannot be inspected locally (%w): set command in the manifest", image, err)
			}
			cfg = c
		}
		argv = append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
		if args != nil {
			argv = append(append([]string{}, cfg.Entrypoint...), args...)
		}
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("neither the manifest nor the image %s has a command: set command in the manifest", image)
	}
	return supervisorArgv(d.spec.StopSignal, d.spec.StopTimeout, argv), nil
}
