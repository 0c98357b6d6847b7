// Package liveupdate is the live-update policy of every container runtime,
// written once: which changes need a rebuild (rebuild_on, a path outside
// every sync rule), the sync plan and the initial sync (with the ignore
// rules), which run() steps a change triggers, and the restart in place.
// A runtime implements a Driver with only what differs between engines:
// where a tar stream goes (Target), exec, signal and the owner of synced
// files. A Container serializes its updates and restarts.
//
// A stopped container (its service exited, the container kept for its
// next start) is synced, deletes included, and its run steps and restart
// are skipped: nothing can run in it, and its next start runs the service
// afresh on the synced files.
package liveupdate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/supervise"
	lsync "github.com/loopdev/loop/internal/sync"
)

// Supervisor is where every container has loop's supervisor.
const Supervisor = "/.loop/loopd"

// restartGrace is how long a restart in place may take beyond the stop
// timeout (the old process's stop, the new one's start).
const restartGrace = 15 * time.Second

// Driver is what a container runtime does for live update.
type Driver interface {
	// Target is where synced files go: into the running container when
	// live, else into its stopped filesystem (deletes applied there or
	// queued for its next start).
	Target(live bool) lsync.Target
	// Exec runs argv in the running container as user ("": the
	// container's) in dir ("": its working directory) and returns its exit
	// code.
	Exec(ctx context.Context, argv []string, user, dir string, stdout, stderr io.Writer) (int, error)
	// Signal sends sig to the container's PID 1, the supervisor.
	Signal(ctx context.Context, sig syscall.Signal) error
	// Owner is the numeric uid and gid synced files are given.
	Owner(ctx context.Context) (uid, gid int, err error)
}

// Container applies changes to one started container. Set its fields
// before the first call; they are read-only after.
type Container struct {
	Name        string           // the resource, for errors
	Spec        *model.Container // sync rules, on_change steps, rebuild_on
	Root        string           // the project directory: sync never reads outside it
	Ignore      func(hostPath string, isDir bool) bool
	StopTimeout time.Duration   // the service's, bounds a restart in place
	Stdout      io.Writer       // the resource's log: run steps' output
	Stderr      io.Writer       // the same: skipped files, skipped steps
	Logger      *slog.Logger    // loopd's
	Done        <-chan struct{} // closed when the container stopped
	Restarts    *supervise.Restarts
	Driver      Driver

	mu sync.Mutex // serializes Update, Restart and InitialSync
}

var (
	_ runtime.Updater   = (*Container)(nil)
	_ runtime.Restarter = (*Container)(nil)
)

// Update applies changed host paths in place: a path under rebuild_on or
// outside every sync rule returns runtime.ErrRebuild; otherwise the files
// are synced (deletes included), the run steps whose triggers match run in
// order (a failing one returns its last output lines and stops the
// update), and a restart() step restarts the service in place. A stopped
// container is synced and its steps are skipped.
func (c *Container) Update(ctx context.Context, changed []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range changed {
		for _, dir := range c.Spec.RebuildOn {
			if Within(dir, p) {
				return fmt.Errorf("update %s: %s is under rebuild_on: %w", c.Name, c.rel(p), runtime.ErrRebuild)
			}
		}
	}
	plan := lsync.NewPlan(c.Spec.Sync, changed)
	if len(plan.Unmatched) > 0 {
		return fmt.Errorf("update %s: %s matches no sync rule: %w", c.Name, c.rel(plan.Unmatched[0]), runtime.ErrRebuild)
	}
	running := c.running()
	tr := oteltrace.SpanFromContext(ctx).TracerProvider().Tracer(tracerName) // a no-op unless the engine traces this change
	sctx, sp := tr.Start(ctx, "sync", oteltrace.WithAttributes(attribute.Int("loop.files", len(changed))))
	opts, err := c.options(sctx)
	if err != nil {
		endSpan(sp, err)
		return fmt.Errorf("update %s: sync: %w", c.Name, err)
	}
	stats, err := lsync.Apply(sctx, c.Driver.Target(running), plan, opts)
	endSpan(sp, err)
	if err != nil {
		return fmt.Errorf("update %s: sync: %w", c.Name, err)
	}
	c.reportRefused(stats)
	if len(c.Spec.OnChange) == 0 {
		return nil
	}
	if !running {
		fmt.Fprintf(c.stderr(), "container %s is stopped: files synced, on_change steps skipped\n", c.Name)
		return nil
	}
	restart := false
	for _, s := range c.Spec.OnChange {
		if s.Restart {
			restart = true
			continue
		}
		if len(s.Cmd) == 0 || !triggered(s.Trigger, changed) {
			continue
		}
		sctx, sp := tr.Start(ctx, "run", oteltrace.WithAttributes(attribute.String("loop.cmd", strings.Join(s.Cmd, " "))))
		err := c.step(sctx, s.Cmd)
		endSpan(sp, err)
		if err != nil {
			return fmt.Errorf("update %s: %w", c.Name, err)
		}
	}
	if restart {
		sctx, sp := tr.Start(ctx, "restart")
		err := c.restart(sctx)
		endSpan(sp, err)
		return err
	}
	return nil
}

// tracerName names the instrumentation scope of live update's spans.
const tracerName = "github.com/loopdev/loop/internal/liveupdate"

// endSpan ends a step's span, with err as its error status.
func endSpan(sp oteltrace.Span, err error) {
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// step runs one run() step with its output in the resource's log.
func (c *Container) step(ctx context.Context, argv []string) error {
	t := output.ErrorTail()
	code, err := c.Driver.Exec(ctx, argv, c.Spec.User, c.Spec.Workdir,
		io.MultiWriter(c.stdout(), t), io.MultiWriter(c.stderr(), t))
	if err != nil {
		return fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
	}
	if code != 0 {
		return fmt.Errorf("run %s: exited %d:\n%s", strings.Join(argv, " "), code, t)
	}
	return nil
}

// Restart restarts the service in place (loop restart) and returns once
// the new process runs.
func (c *Container) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restart(ctx)
}

// restart signals the supervisor and waits for its restart line on the
// container's stderr, so that readiness is never probed against the old
// process.
func (c *Container) restart(ctx context.Context) error {
	n := c.Restarts.Count()
	if err := c.Driver.Signal(ctx, supervise.SigRestart); err != nil {
		return fmt.Errorf("restart %s in place: %w", c.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.StopTimeout+restartGrace)
	defer cancel()
	if err := c.Restarts.Wait(ctx, n, c.Done); err != nil {
		return fmt.Errorf("restart %s in place: %w", c.Name, err)
	}
	return nil
}

// InitialSync brings the synced paths up to date when the container
// starts: a running (adopted) one is diffed with the supervisor's
// `__hash`, so only what differs is copied and what the host no longer
// has is deleted; one not started yet gets every file. Ignored paths are
// neither copied nor deleted.
func (c *Container) InitialSync(ctx context.Context, running bool) error {
	if len(c.Spec.Sync) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var t lsync.Target = c.Driver.Target(running)
	if running {
		t = hashTarget{t, c}
	}
	opts, err := c.options(ctx)
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	start := time.Now()
	stats, err := lsync.Initial(ctx, t, c.Spec.Sync, opts)
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	c.reportRefused(stats)
	c.logger().Debug("initial sync", "resource", c.Name, "files", stats.Files, "deleted", stats.Deleted, "bytes", stats.Bytes, "took", time.Since(start))
	return nil
}

func (c *Container) options(ctx context.Context) (lsync.Options, error) {
	uid, gid, err := c.Driver.Owner(ctx)
	if err != nil {
		return lsync.Options{}, err
	}
	return lsync.Options{Root: c.Root, UID: uid, GID: gid, Ignore: c.Ignore}, nil
}

// running reports whether the container has not stopped.
func (c *Container) running() bool {
	select {
	case <-c.Done:
		return false
	default:
		return true
	}
}

// reportRefused writes what the sync skipped (a symlink or a rule that
// leads outside the project, a special file) to the resource's log and
// loopd's.
func (c *Container) reportRefused(s lsync.Stats) {
	for _, r := range s.Refused {
		c.logger().Warn("sync refused", "resource", c.Name, "entry", r)
		fmt.Fprintf(c.stderr(), "sync: skipped %s\n", r)
	}
}

// rel is p relative to the project, for messages.
func (c *Container) rel(p string) string {
	if c.Root != "" && Within(c.Root, p) {
		if r, err := filepath.Rel(c.Root, p); err == nil {
			return r
		}
	}
	return p
}

func (c *Container) stdout() io.Writer { return output.OrDiscard(c.Stdout) }
func (c *Container) stderr() io.Writer { return output.OrDiscard(c.Stderr) }

func (c *Container) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Within reports whether the host path p is dir or below it.
func Within(dir, p string) bool {
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
			if Within(t, p) {
				return true
			}
		}
	}
	return false
}
