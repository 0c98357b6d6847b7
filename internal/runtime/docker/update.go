package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/docker/api/types/container"

	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/recv"
	loopsync "github.com/loopdev/loop/internal/sync"
)

// Live update's policy is liveupdate.Container's; the docker handle is its
// Driver: sync through the channel or the Engine API, exec, signal.

// Update applies changed host paths in place (liveupdate.Container.Update).
func (h *handle) Update(ctx context.Context, changed []string) error {
	return h.live.Update(ctx, changed)
}

// Restart restarts the service in place (loop restart).
func (h *handle) Restart(ctx context.Context) error { return h.live.Restart(ctx) }

// initialSync brings the container's synced paths up to date at start.
func (h *handle) initialSync(ctx context.Context, running bool) error {
	return h.live.InitialSync(ctx, running)
}

// newLive is the handle's live update, once its fields are set.
func (h *handle) newLive() *liveupdate.Container {
	return &liveupdate.Container{
		Name: h.spec.Name, Spec: h.c, Root: h.spec.ProjectDir, Ignore: h.spec.Ignore,
		StopTimeout: h.stopTimeout() + stopGrace, Stdout: h.out.stdout, Stderr: h.out.stderr,
		Logger: h.r.logger(), Done: h.done, Restarts: h.restarts, Driver: driver{h},
	}
}

// driver is the handle as a liveupdate.Driver.
type driver struct{ h *handle }

var _ liveupdate.Driver = driver{}

// Target is through the sync channel while the container runs, else
// through the Engine API.
func (d driver) Target(live bool) loopsync.Target { return target{h: d.h, live: live} }

func (d driver) Exec(ctx context.Context, argv []string, user, dir string, stdout, stderr io.Writer) (int, error) {
	return d.h.exec(ctx, execOpts{argv: argv, user: user, dir: dir, stdout: stdout, stderr: stderr})
}

// Signal sends sig to the supervisor through the sync channel (a frame on
// the open stream: a restart in place skips the engine's kill, a round
// trip through dockerd and the runtime), else through the engine API.
func (d driver) Signal(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-d.h.done:
	default:
		err := d.h.recv.Do(ctx, func(c *recv.Conn) error { return c.Signal(ctx, sig) })
		if err == nil || ctx.Err() != nil {
			return err
		}
		d.h.r.logger().Debug("sync channel could not signal; signalling through the engine", "resource", d.h.spec.Name, "err", err)
	}
	return d.h.cli.ContainerKill(ctx, d.h.id, strconv.Itoa(int(sig)))
}

func (d driver) Owner(context.Context) (int, int, error) { return d.h.uid, d.h.gid, nil }

// target syncs into the container: through the sync channel (a long-lived
// `loopd __recv`, internal/recv) when live, else, or when the channel
// fails, through the engine API.
type target struct {
	h    *handle
	live bool // the container runs: the channel may be used
}

var _ loopsync.Target = target{}

// Copy extracts the tar stream at "/" (works on stopped containers and
// images without tar).
func (t target) Copy(ctx context.Context, tr io.Reader) error {
	if t.live {
		rp := recv.NewReplay(tr, recv.ReplayMax)
		err := t.h.recv.Do(ctx, func(c *recv.Conn) error { return c.CopyTar(ctx, rp) })
		if err == nil || !t.fallback(ctx, err) {
			return err
		}
		again, ok := rp.Again()
		if !ok {
			return fmt.Errorf("sync channel broke after %d MiB of the stream: %w", recv.ReplayMax>>20, err)
		}
		tr = again
	}
	return t.h.cli.CopyToContainer(ctx, t.h.id, "/", tr, container.CopyToContainerOptions{AllowOverwriteDirWithFile: true})
}

// fallback reports whether an operation the channel failed with err goes
// through the engine instead.
func (t target) fallback(ctx context.Context, err error) bool {
	if !recv.Retryable(ctx, err) {
		return false
	}
	if !errors.Is(err, recv.ErrOff) {
		t.h.recv.Fallbacks.Add(1)
		t.h.r.logger().Debug("sync channel failed; syncing through the engine", "resource", t.h.spec.Name, "err", err)
	}
	return true
}

// Delete removes paths through the sync channel or the supervisor's __rm
// while the container runs, and queues them for the supervisor's next
// start while it is stopped.
func (t target) Delete(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	if t.live {
		err := t.h.recv.Do(ctx, func(c *recv.Conn) error { return c.Remove(ctx, paths) })
		if err == nil || !t.fallback(ctx, err) {
			return err
		}
	}
	info, err := t.h.cli.ContainerInspect(ctx, t.h.id)
	if err != nil {
		return err
	}
	if info.State != nil && info.State.Running {
		var stderr bytes.Buffer
		code, err := t.h.exec(ctx, execOpts{argv: append([]string{supervisorPath, "__rm", "--"}, paths...), user: "0", stderr: &stderr})
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if code != 0 {
			return fmt.Errorf("delete: loopd __rm exited %d: %s", code, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	old, err := t.h.readFile(ctx, stateDir+"/deletes")
	if err != nil {
		return fmt.Errorf("delete: read pending deletes: %w", err)
	}
	list := append([]byte{}, old...)
	if len(list) > 0 && list[len(list)-1] != '\n' {
		list = append(list, '\n')
	}
	list = append(list, strings.Join(paths, "\n")+"\n"...)
	if err := t.h.writeState(ctx, map[string][]byte{"deletes": list}); err != nil {
		return fmt.Errorf("delete: queue for the next start: %w", err)
	}
	return nil
}
