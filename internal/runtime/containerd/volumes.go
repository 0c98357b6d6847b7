//go:build linux

package containerd

// Named volumes. containerd has none of its own, so they live where nerdctl
// keeps its volumes, in its layout, so that `nerdctl --namespace loop volume
// ls` lists what loop made (and `nerdctl volume rm` removes it):
//
//	<data root>/<first 8 hex of sha256(address)>/volumes/<namespace>/<name>/_data
//	                                                                  /volume.json
//
// volume.json holds the labels ({"labels": {"dev.loop.project": ...}}):
// `loop down --volumes` removes a project's volumes by that label, never by
// name. The store directory is flocked while it changes, as nerdctl does.
// A new volume gets a copy of what the image has at the mount point (owners,
// modes and all), as Docker does for an empty volume; a volume is only made
// once, so what a service wrote stays across restarts, rebuilds and
// `loop down`.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/continuity/fs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/image-spec/identity"
)

// DefaultDataRoot is nerdctl's data root when it runs as root.
const DefaultDataRoot = "/var/lib/nerdctl"

// LabelVolume names the resource's volume (its name in the Loopfile) on a
// volume loop made.
const LabelVolume = "dev.loop.volume"

// volumeMount is a named volume a container mounts.
type volumeMount struct {
	name   string // in the store: <project>_<volume>
	source string // the volume's name in the Loopfile
	target string // in the container
}

func (r *Runtime) dataRoot() string {
	return firstNonEmpty(r.DataRoot, os.Getenv("LOOP_CONTAINERD_DATA_ROOT"), DefaultDataRoot)
}

// volumeStore is the directory of the namespace's volumes.
func (r *Runtime) volumeStore() string {
	return filepath.Join(r.dataRoot(), r.addressHash(), "volumes", r.namespace())
}

// addressHash is nerdctl's <ADDRHASH>, which separates the data of each
// containerd: the first 8 hex digits of the sha256 of its address.
func (r *Runtime) addressHash() string {
	sum := sha256.Sum256([]byte(r.address()))
	return hex.EncodeToString(sum[:])[:8]
}

// volumeName is a project's volume's name in the store: <project>_<volume>,
// each part made a containerd identifier (as nerdctl requires).
func volumeName(project, volume string) string {
	return identifier(project, 40) + "_" + identifier(volume, 35)
}

// volumeData is where the volume's content is on the host.
func (r *Runtime) volumeData(name string) string {
	return filepath.Join(r.volumeStore(), name, "_data")
}

// volumeLabels is volume.json.
type volumeLabels struct {
	Labels map[string]string `json:"labels"`
}

// withStoreLock runs fn with the volume store created and flocked.
func (r *Runtime) withStoreLock(fn func(store string) error) error {
	return withDirLock(r.volumeStore(), 0o700, "volume store", fn)
}

// ensureVolumes makes the container's named volumes that do not exist yet,
// each with a copy of what img has at its mount point. A volume of that
// name that another project (or nerdctl) made is an error, not shared.
func (r *Runtime) ensureVolumes(ctx context.Context, cli *client.Client, img client.Image, project string, vols []volumeMount) error {
	if len(vols) == 0 {
		return nil
	}
	return r.withStoreLock(func(store string) error {
		for _, v := range vols {
			dir := filepath.Join(store, v.name)
			b, err := os.ReadFile(filepath.Join(dir, "volume.json"))
			if err == nil {
				var l volumeLabels
				if json.Unmarshal(b, &l) != nil || l.Labels[LabelProject] != project {
					return fmt.Errorf("volume %s: %s exists and was not made by loop for project %s: remove it (nerdctl --namespace %s volume rm %s) or name the volume differently",
						v.source, dir, project, r.namespace(), v.name)
				}
				if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
					return fmt.Errorf("volume %s: %w", v.source, err)
				}
				continue
			}
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("volume %s: %w", v.source, err)
			}
			if err := r.makeVolume(ctx, cli, img, project, v, dir); err != nil {
				os.RemoveAll(dir) // a half-made volume would never get its copy
				return fmt.Errorf("volume %s: %w", v.source, err)
			}
		}
		return nil
	})
}

// makeVolume makes the volume v at dir, its content copied from img.
// volume.json is written last: a volume without it is made again.
func (r *Runtime) makeVolume(ctx context.Context, cli *client.Client, img client.Image, project string, v volumeMount, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data := filepath.Join(dir, "_data")
	if err := r.copyFromImage(ctx, cli, img, v.target, data); err != nil {
		return fmt.Errorf("copy %s from image %s: %w", v.target, img.Name(), err)
	}
	if err := os.Mkdir(data, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	b, err := json.MarshalIndent(volumeLabels{Labels: map[string]string{LabelProject: project, LabelVolume: v.source}}, "", "    ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "volume.json"), b, 0o644)
}

// copyFromImage copies the directory at path in img's filesystem to dst
// (which must not exist), through a read-only view of the image's
// snapshot. Nothing is copied when img has no directory there.
func (r *Runtime) copyFromImage(ctx context.Context, cli *client.Client, img client.Image, path, dst string) error {
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return err
	}
	sn := cli.SnapshotService(r.snapshotter())
	key := "loop-volume-copy-" + rand.Text()
	mounts, err := sn.View(ctx, key, identity.ChainID(diffIDs).String())
	if err != nil {
		return fmt.Errorf("view the image's snapshot: %w", err)
	}
	defer sn.Remove(context.WithoutCancel(ctx), key)
	return mount.WithReadonlyTempMount(ctx, mounts, func(root string) error {
		src, err := securejoin.SecureJoin(root, path)
		if err != nil {
			return err
		}
		fi, err := os.Stat(src)
		if errors.Is(err, os.ErrNotExist) || err == nil && !fi.IsDir() {
			return nil
		}
		if err != nil {
			return err
		}
		return fs.CopyDir(dst, src)
	})
}

// RemoveVolumes removes the named volumes loop made for project (loop down
// --volumes). Volumes of other projects, and those nerdctl made, stay.
func (r *Runtime) RemoveVolumes(ctx context.Context, project string) error {
	if _, err := os.Stat(r.volumeStore()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return r.withStoreLock(func(store string) error {
		entries, err := os.ReadDir(store)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(store, e.Name(), "volume.json"))
			if err != nil {
				continue
			}
			var l volumeLabels
			if json.Unmarshal(b, &l) != nil || l.Labels[LabelProject] != project {
				continue
			}
			if err := os.RemoveAll(filepath.Join(store, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", e.Name(), err))
			}
		}
		return errors.Join(errs...)
	})
}
