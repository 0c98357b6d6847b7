package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/loopdev/loop/internal/runtime"
	loopsync "github.com/loopdev/loop/internal/sync"
)

// restartSignal asks the supervisor to restart the service in place.
const restartSignal = "39"

// Update applies changed host paths in place: sync them, run the
// on_change steps they trigger, restart the service when a restart() step
// is present. A path under rebuild_on or outside every sync rule returns
// runtime.ErrRebuild.
func (h *handle) Update(ctx context.Context, changed []string) error {
	h.update.Lock()
	defer h.update.Unlock()
	for _, p := range changed {
		for _, dir := range h.c.RebuildOn {
			if within(dir, p) {
				return fmt.Errorf("update %s: %s is under rebuild_on: %w", h.spec.Name, p, runtime.ErrRebuild)
			}
		}
	}
	plan := loopsync.NewPlan(h.c.Sync, changed)
	if len(plan.Unmatched) > 0 {
		return fmt.Errorf("update %s: %s matches no sync rule: %w", h.spec.Name, plan.Unmatched[0], runtime.ErrRebuild)
	}
	stats, err := loopsync.Apply(ctx, h.target(), plan, h.syncOptions())
	if err != nil {
		return fmt.Errorf("update %s: sync: %w", h.spec.Name, err)
	}
	h.reportRefused(stats)
	if len(h.c.OnChange) == 0 {
		return nil
	}
	select {
	case <-h.done:
		// Synced (deletes queued); the next start runs the service
		// afresh, but nothing can run in a stopped container.
		fmt.Fprintf(h.out.stderr, "container %s is stopped: files synced, on_change steps skipped\n", h.spec.Name)
		return nil
	default:
	}
	restart := false
	for _, s := range h.c.OnChange {
		if s.Restart {
			restart = true
			continue
		}
		if len(s.Cmd) == 0 || !triggered(s.Trigger, changed) {
			continue
		}
		t := newTail(outputLines)
		code, err := h.exec(ctx, execOpts{
			argv: s.Cmd, user: h.c.User, dir: h.c.Workdir,
			stdout: io.MultiWriter(h.out.stdout, t), stderr: io.MultiWriter(h.out.stderr, t),
		})
		if err != nil {
			return fmt.Errorf("update %s: run %s: %w", h.spec.Name, strings.Join(s.Cmd, " "), err)
		}
		if code != 0 {
			return fmt.Errorf("update %s: run %s: exited %d:\n%s", h.spec.Name, strings.Join(s.Cmd, " "), code, t)
		}
	}
	if restart {
		return h.restartInPlace(ctx)
	}
	return nil
}

// restartInPlace asks the supervisor to restart the service and returns
// once the new process runs (the supervisor says so on stderr), so that a
// readiness probe never reaches the old one.
func (h *handle) restartInPlace(ctx context.Context) error {
	n := h.restarts.Count()
	if err := h.cli.ContainerKill(ctx, h.id, restartSignal); err != nil {
		return fmt.Errorf("restart %s in place: %w", h.spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.stopTimeout()+stopGrace+10*time.Second)
	defer cancel()
	if err := h.restarts.Wait(ctx, n, h.done); err != nil {
		return fmt.Errorf("restart %s in place: %w", h.spec.Name, err)
	}
	return nil
}

// Restart restarts the service in place (loop restart).
func (h *handle) Restart(ctx context.Context) error {
	h.update.Lock()
	defer h.update.Unlock()
	return h.restartInPlace(ctx)
}

// within reports whether p is dir or below it (host paths).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// triggered reports whether a step with these trigger paths runs for
// changed (always with no triggers).
func triggered(trigger, changed []string) bool {
	if len(trigger) == 0 {
		return true
	}
	for _, t := range trigger {
		for _, p := range changed {
			if within(t, p) {
				return true
			}
		}
	}
	return false
}

func (h *handle) syncOptions() loopsync.Options {
	return loopsync.Options{Root: h.spec.ProjectDir, UID: h.uid, GID: h.gid, Ignore: h.spec.Ignore}
}

func (h *handle) reportRefused(s loopsync.Stats) {
	for _, r := range s.Refused {
		fmt.Fprintf(h.out.stderr, "sync: skipped %s\n", r)
	}
}

// initialSync brings the container's synced paths up to date at start:
// a running container is diffed (loopd __hash) so only what differs is
// copied; a stopped one gets every file.
func (h *handle) initialSync(ctx context.Context, running bool) error {
	if len(h.c.Sync) == 0 {
		return nil
	}
	var t loopsync.Target = target{h: h}
	if running {
		t = hashTarget{target{h: h, live: true}}
	}
	start := time.Now()
	stats, err := loopsync.Initial(ctx, t, h.c.Sync, h.syncOptions())
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	h.reportRefused(stats)
	h.r.logger().Debug("initial sync", "resource", h.spec.Name, "files", stats.Files, "deleted", stats.Deleted, "bytes", stats.Bytes, "took", time.Since(start))
	return nil
}

// target is the sync target for Update: through the sync channel while
// the container runs.
func (h *handle) target() target {
	select {
	case <-h.done:
		return target{h: h}
	default:
		return target{h: h, live: true}
	}
}

// target syncs into the container: through the sync channel (a long-lived
// `loopd __recv`, see recv.go) when live, else, or when the channel
// fails, through the engine API.
type target struct {
	h    *handle
	live bool // the container runs: the channel may be used
}

var (
	_ loopsync.Target = target{}
	_ loopsync.Hasher = hashTarget{}
)

// Copy extracts the tar stream at "/" (works on stopped containers and
// images without tar).
func (t target) Copy(ctx context.Context, tr io.Reader) error {
	if t.live {
		rp := &replay{r: tr, max: replayMax}
		err := t.h.recv.do(ctx, t.h, func(c *recvConn) error { return c.copyTar(ctx, rp) })
		if err == nil || !t.fallback(ctx, err) {
			return err
		}
		again, ok := rp.again()
		if !ok {
			return fmt.Errorf("sync channel broke after %d MiB of the stream: %w", replayMax>>20, err)
		}
		tr = again
	}
	return t.h.cli.CopyToContainer(ctx, t.h.id, "/", tr, container.CopyToContainerOptions{AllowOverwriteDirWithFile: true})
}

// fallback reports whether an operation the channel failed with err goes
// through the engine instead.
func (t target) fallback(ctx context.Context, err error) bool {
	var rerr *recvError
	var serr *srcError
	if errors.As(err, &rerr) || errors.As(err, &serr) || ctx.Err() != nil {
		return false
	}
	if !errors.Is(err, errRecvOff) {
		t.h.recv.fallbacks.Add(1)
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
		err := t.h.recv.do(ctx, t.h, func(c *recvConn) error { return c.remove(ctx, paths) })
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

// hashTarget is a target that can list what the container holds.
type hashTarget struct{ target }

// Hashes runs `loopd __hash` in the container.
func (t hashTarget) Hashes(ctx context.Context, dirs []string) (map[string]loopsync.Entry, error) {
	var stdout, stderr bytes.Buffer
	code, err := t.h.exec(ctx, execOpts{argv: append([]string{supervisorPath, "__hash", "--"}, dirs...), user: "0", stdout: &stdout, stderr: &stderr})
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	entries, perr := parseHashes(&stdout)
	if perr != nil {
		return nil, fmt.Errorf("hash: %w", perr)
	}
	if code != 0 {
		// Unreadable entries are reported, the rest listed: copying them
		// again is harmless.
		t.h.r.logger().Debug("loopd __hash", "resource", t.h.spec.Name, "code", code, "stderr", strings.TrimSpace(stderr.String()))
	}
	return entries, nil
}

// parseHashes reads `loopd __hash` lines: F\t<xxh3 hex>\t<mode octal>\t<path>,
// L\t<target>\t0\t<path>, D\t-\t<mode octal>\t<path>.
func parseHashes(r io.Reader) (map[string]loopsync.Entry, error) {
	out := map[string]loopsync.Entry{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 4)
		if len(f) != 4 || len(f[0]) != 1 {
			return nil, fmt.Errorf("unexpected line %q", sc.Text())
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("unexpected mode in %q", sc.Text())
		}
		e := loopsync.Entry{Kind: f[0][0], Mode: unixMode(uint32(mode))}
		switch e.Kind {
		case 'F':
			if e.Hash, err = strconv.ParseUint(f[1], 16, 64); err != nil {
				return nil, fmt.Errorf("unexpected hash in %q", sc.Text())
			}
		case 'L':
			e.Link = f[1]
		case 'D':
		default:
			return nil, fmt.Errorf("unexpected kind in %q", sc.Text())
		}
		out[f[3]] = e
	}
	return out, sc.Err()
}

// unixMode turns st_mode & 07777 into fs.FileMode permission bits.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
