//go:build linux

package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"syscall"

	"github.com/containerd/containerd/v2/core/mount"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/loopdev/loop/internal/fsat"
	"github.com/loopdev/loop/internal/liveupdate"
	lsync "github.com/loopdev/loop/internal/sync"
)

// Live update's policy is liveupdate.Container's; the containerd handle is
// its Driver: sync by extracting into the container's root from the host,
// exec, signal.

// Update applies changed host paths in place (liveupdate.Container.Update).
func (h *handle) Update(ctx context.Context, changed []string) error {
	return h.live.Update(ctx, changed)
}

// Restart restarts the service in place (loop restart).
func (h *handle) Restart(ctx context.Context) error { return h.live.Restart(ctx) }

// initialSync brings the synced paths up to date when the handle starts
// (liveupdate.Container.InitialSync); without a supervisor nothing can
// list what an adopted container holds, so it gets every file.
func (h *handle) initialSync(ctx context.Context, running bool) error {
	return h.live.InitialSync(ctx, running && h.cfg.Supervisor != "")
}

// newLive is the handle's live update, once its restarts are watched.
func (h *handle) newLive() *liveupdate.Container {
	return &liveupdate.Container{
		Name: h.spec.Name, Spec: h.spec.Container, Root: h.spec.ProjectDir, Ignore: h.spec.Ignore,
		StopTimeout: h.cfg.StopTimeout, Stdout: h.spec.Stdout, Stderr: h.spec.Stderr,
		Logger: h.logger, Done: h.done, Restarts: h.restarts, Driver: driver{h},
	}
}

// driver is the handle as a liveupdate.Driver.
type driver struct{ h *handle }

var _ liveupdate.Driver = driver{}

// Target extracts into the container's root through its PID 1 while its
// task has not exited (a task created and not started yet too), else into
// the stopped container's mounted snapshot.
func (d driver) Target(live bool) lsync.Target {
	if live || d.h.running() {
		return target{d.h}
	}
	return stoppedTarget{d.h}
}

func (d driver) Exec(ctx context.Context, argv []string, user, dir string, stdout, stderr io.Writer) (int, error) {
	p, err := d.h.process(ctx, argv, user, dir, nil, false)
	if err != nil {
		return -1, err
	}
	return d.h.run(ctx, p, nil, stdout, stderr)
}

func (d driver) Signal(ctx context.Context, sig syscall.Signal) error {
	return d.h.task.Kill(d.h.rt.ctx(ctx), sig)
}

// Owner is the numeric uid and gid of the container's process.
func (d driver) Owner(ctx context.Context) (int, int, error) {
	s, err := d.h.ctr.Spec(d.h.rt.ctx(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("container spec: %w", err)
	}
	if s.Process == nil {
		return 0, 0, nil
	}
	return int(s.Process.User.UID), int(s.Process.User.GID), nil
}

// rootfs is the container's root directory as the host sees it through
// its PID 1, mounts included.
func (h *handle) rootfs() string {
	return "/proc/" + strconv.Itoa(int(h.task.Pid())) + "/root"
}

// target syncs into the running container.
type target struct{ h *handle }

var _ lsync.Target = target{}

// Copy extracts the stream into the container's root from the host,
// resolving every path inside that root.
func (t target) Copy(ctx context.Context, r io.Reader) error {
	if !t.h.running() {
		io.Copy(io.Discard, r)
		return errStopped
	}
	return extract(t.h.rootfs(), r)
}

// Delete removes paths with the supervisor's __rm (the image's rm -rf
// without a supervisor), inside the container, as root: synced files are
// written as root too.
func (t target) Delete(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	argv := []string{supervisorPath, "__rm", "--"}
	_, err := t.h.output(ctx, append(argv, paths...), "0:0")
	return err
}

// stoppedTarget syncs into a container whose task exited: its task is
// removed (its exit is recorded; the next start creates a new one in the
// same container) and its snapshot mounted, so the next task sees the
// files, deletes included.
type stoppedTarget struct{ h *handle }

var _ lsync.Target = stoppedTarget{}

func (t stoppedTarget) Copy(ctx context.Context, r io.Reader) error {
	return t.h.withStoppedRoot(ctx, func(root string) error { return extract(root, r) })
}

// Delete removes paths in the stopped filesystem, every parent resolved
// inside it, never following the last component.
func (t stoppedTarget) Delete(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	return t.h.withStoppedRoot(ctx, func(root string) error {
		rootf, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return fmt.Errorf("open container root: %w", err)
		}
		defer rootf.Close()
		for _, p := range paths {
			p = path.Clean("/" + p)
			if p == "/" {
				continue
			}
			dir, err := pathrs.OpenatInRoot(rootf, path.Dir(p))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("delete %s: %w", p, err)
			}
			err = fsat.RemoveAll(int(dir.Fd()), path.Base(p))
			dir.Close()
			if err != nil {
				return fmt.Errorf("delete %s: %w", p, err)
			}
		}
		return nil
	})
}

// withStoppedRoot calls fn with the stopped container's filesystem
// mounted at a temporary directory. Its exited task is removed first, so
// that the snapshot is mounted once.
func (h *handle) withStoppedRoot(ctx context.Context, fn func(root string) error) error {
	cctx := h.rt.ctx(ctx)
	if err := h.rt.deleteTask(cctx, h.task, h.spec.Project); err != nil {
		return fmt.Errorf("remove exited task: %w", err)
	}
	info, err := h.ctr.Info(cctx)
	if err != nil {
		return fmt.Errorf("container info: %w", err)
	}
	ms, err := h.cli.SnapshotService(info.Snapshotter).Mounts(cctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("snapshot mounts: %w", err)
	}
	return mount.WithTempMount(cctx, ms, fn)
}
