package containerd

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loopdev/loop/internal/runtime"
	lsync "github.com/loopdev/loop/internal/sync"
)

// sigRestart asks the supervisor to restart its command in place.
const sigRestart = syscall.Signal(39)

// Update applies changed host paths in place: a path under rebuild_on or
// outside every sync rule returns runtime.ErrRebuild; otherwise the files
// are synced (deletes included), the run steps whose triggers match run in
// order (a failing one returns its output and stops the update), and a
// restart() step restarts the service in place.
func (h *handle) Update(ctx context.Context, changed []string) error {
	c := h.spec.Container
	for _, p := range changed {
		if under(p, c.RebuildOn) {
			return fmt.Errorf("%s is under rebuild_on: %w", h.rel(p), runtime.ErrRebuild)
		}
	}
	plan := lsync.NewPlan(c.Sync, changed)
	if len(plan.Unmatched) > 0 {
		return fmt.Errorf("%s is outside every sync rule: %w", h.rel(plan.Unmatched[0]), runtime.ErrRebuild)
	}
	if !h.running() {
		// A container whose task exited is recreated anyway.
		return fmt.Errorf("%w: %w", errStopped, runtime.ErrRebuild)
	}
	uid, gid, err := h.owner(ctx)
	if err != nil {
		return fmt.Errorf("sync to %s: %w", h.ctr.ID(), err)
	}
	stats, err := lsync.Apply(ctx, target{h}, plan, lsync.Options{Root: h.spec.ProjectDir, UID: uid, GID: gid})
	if err != nil {
		return fmt.Errorf("sync to %s: %w", h.ctr.ID(), err)
	}
	h.reportRefused(stats)
	restart := false
	for _, st := range c.OnChange {
		if st.Restart {
			restart = true
			continue
		}
		if len(st.Trigger) > 0 && !anyUnder(changed, st.Trigger) {
			continue
		}
		if _, err := h.output(ctx, st.Cmd, ""); err != nil {
			return fmt.Errorf("run step in %s: %w", h.spec.Name, err)
		}
	}
	if restart {
		return h.restart(ctx)
	}
	return nil
}

// restart signals the supervisor (PID 1 only) to restart the service.
func (h *handle) restart(ctx context.Context) error {
	n := h.restarts.Count()
	if err := h.task.Kill(h.rt.ctx(ctx), sigRestart); err != nil {
		return fmt.Errorf("restart %s in place: %w", h.spec.Name, err)
	}
	// Return once the new process runs (the supervisor says so on
	// stderr), so that readiness is never probed against the old one.
	ctx, cancel := context.WithTimeout(ctx, h.spec.StopTimeout+15*time.Second)
	defer cancel()
	if err := h.restarts.Wait(ctx, n, h.done); err != nil {
		return fmt.Errorf("restart %s in place: %w", h.spec.Name, err)
	}
	return nil
}

// Restart restarts the service in place (loop restart).
func (h *handle) Restart(ctx context.Context) error { return h.restart(ctx) }

// owner is the numeric uid and gid of the container's process.
func (h *handle) owner(ctx context.Context) (int, int, error) {
	s, err := h.ctr.Spec(h.rt.ctx(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("container spec: %w", err)
	}
	if s.Process == nil {
		return 0, 0, nil
	}
	return int(s.Process.User.UID), int(s.Process.User.GID), nil
}

// rel is p relative to the project, for messages.
func (h *handle) rel(p string) string {
	if r, err := filepath.Rel(h.spec.ProjectDir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// under reports whether p is one of roots or below one.
func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

func anyUnder(paths, roots []string) bool {
	for _, p := range paths {
		if under(p, roots) {
			return true
		}
	}
	return false
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

// initialSync brings the synced paths up to date when the handle starts:
// a task that is created but not started yet gets every file; a running
// (adopted) one is diffed with `loopd __hash`, so only what differs is
// copied and what the host no longer has is deleted.
func (h *handle) initialSync(ctx context.Context, running bool) error {
	if len(h.spec.Container.Sync) == 0 {
		return nil
	}
	var t lsync.Target = target{h}
	if running && h.cfg.Supervisor != "" {
		t = hashTarget{target{h}}
	}
	uid, gid, err := h.owner(ctx)
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	stats, err := lsync.Initial(ctx, t, h.spec.Container.Sync, lsync.Options{Root: h.spec.ProjectDir, UID: uid, GID: gid})
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	h.reportRefused(stats)
	h.logger.Debug("initial sync", "files", stats.Files, "deleted", stats.Deleted, "bytes", stats.Bytes)
	return nil
}

// hashTarget is a target that lists what the container holds.
type hashTarget struct{ target }

var _ lsync.Hasher = hashTarget{}

// Hashes runs `loopd __hash` in the container and parses its lines:
// "F\t<xxh3 hex>\t<mode octal>\t<path>", "L\t<target>\t0\t<path>",
// "D\t-\t<mode octal>\t<path>".
func (t hashTarget) Hashes(ctx context.Context, dirs []string) (map[string]lsync.Entry, error) {
	p, err := t.h.process(ctx, append([]string{supervisorPath, "__hash", "--"}, dirs...), "0:0", "", nil, false)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	var out, errb syncBuffer
	code, err := t.h.run(ctx, p, nil, &out, &errb)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	if code != 0 { // unreadable entries are reported, the rest listed
		t.h.logger.Debug("loopd __hash", "code", code, "stderr", strings.TrimSpace(string(errb.Bytes())))
	}
	return parseHashes(out.Bytes())
}

func parseHashes(b []byte) (map[string]lsync.Entry, error) {
	m := map[string]lsync.Entry{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 || len(f[0]) != 1 {
			return nil, fmt.Errorf("hash: bad line %q", line)
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("hash: bad mode in %q", line)
		}
		e := lsync.Entry{Kind: f[0][0], Mode: fs.FileMode(mode)}
		switch e.Kind {
		case 'F':
			if e.Hash, err = strconv.ParseUint(f[1], 16, 64); err != nil {
				return nil, fmt.Errorf("hash: bad hash in %q", line)
			}
		case 'L':
			e.Link = f[1]
		case 'D':
		default:
			return nil, fmt.Errorf("hash: bad kind in %q", line)
		}
		m[f[3]] = e
	}
	return m, nil
}

// reportRefused writes what the sync skipped (a symlink or a rule that
// leads outside the project, a special file) to the resource's log, as
// the docker runtime does, and to loopd's.
func (h *handle) reportRefused(s lsync.Stats) {
	for _, r := range s.Refused {
		h.logger.Warn("sync refused", "entry", r)
		if h.spec.Stderr != nil {
			fmt.Fprintf(h.spec.Stderr, "sync: skipped %s\n", r)
		}
	}
}
