package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/supervise"
)

// handle is one started KindKube resource.
type handle struct {
	r    *Runtime
	spec runtime.Spec
	c    *kube.Client
	log  *slog.Logger
	pods Pods // the workload's pods and its live container

	mu      sync.Mutex
	applied []ref // under mu: what Stop deletes, in apply order
	exit    runtime.Exit
	done    chan struct{}
	closed  bool // under mu: done is closed

	health   chan runtime.Health // capacity 1: the latest state not yet read
	cancel   context.CancelFunc  // ends the watch and the log follower
	watching sync.WaitGroup
	stop     sync.Once
	stopErr  error

	live *liveupdate.Container // nil without live update or a driver
	// podCache is the watch's synced pod cache (nil until then): live
	// update and exec find the pod there, not with a request each time.
	podCache atomic.Pointer[cache.Store]
	deploy   sync.Mutex // one redeploy at a time
}

var (
	_ runtime.Handle    = (*handle)(nil)
	_ runtime.Watched   = (*handle)(nil)
	_ runtime.Updater   = (*handle)(nil)
	_ runtime.Restarter = (*handle)(nil)
	_ runtime.Execer    = (*handle)(nil)
)

func newHandle(r *Runtime, spec runtime.Spec, c *kube.Client, applied []object, forwards []*kube.Forwarder) *handle {
	ctx, cancel := context.WithCancel(context.Background())
	h := &handle{
		r: r, spec: spec, c: c,
		log:    r.logger().With("resource", spec.Name, "context", c.Context),
		pods:   Pods{Client: c, Namespace: c.Namespace, Selector: selectorOf(spec.Project, spec.Name), Container: spec.Workload.Container},
		done:   make(chan struct{}),
		health: make(chan runtime.Health, 1),
		cancel: cancel,
	}
	h.setApplied(applied)
	w := spec.Workload
	if w.LiveUpdate {
		h.pods.Container = liveContainer(applied, w)
	}
	out := output.NewLocked(output.OrDiscard(spec.Stdout)) // the followers of several containers write
	var restarts *supervise.Restarts
	if w.LiveUpdate {
		restarts = supervise.NewRestarts(out)
		h.live = &liveupdate.Container{
			Name:        spec.Name,
			Spec:        &model.Container{Sync: w.Sync, OnChange: w.OnChange, RebuildOn: w.RebuildOn, Workdir: w.Workdir},
			Root:        spec.ProjectDir,
			Ignore:      spec.Ignore,
			StopTimeout: spec.StopTimeout,
			Stdout:      spec.Stdout,
			Stderr:      spec.Stderr,
			Logger:      r.logger(),
			Done:        h.done,
			Restarts:    restarts,
			Driver:      c.NewLive(c.Namespace, h.pods.Container, h.livePod),
		}
	}
	// Every container's lines go to the resource's log, prefixed with the
	// container's name but for the main one's; the live container's pass
	// the restart counter on their way.
	main := mainContainer(applied, w)
	logs := &kube.Logs{Client: c, Namespace: c.Namespace, Selector: h.pods.Selector, Logger: h.log,
		Writer: func(pod, container string) io.Writer {
			var lw io.Writer = out
			if container != main {
				lw = &prefixWriter{w: out, prefix: "[" + container + "] ", atStart: true}
			}
			if restarts != nil && container == h.pods.Container {
				return restarts // the live container is the main one: no prefix
			}
			return lw
		}}
	h.watching.Add(1)
	go func() {
		defer h.watching.Done()
		if err := logs.Run(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("follow pod logs", "err", err)
		}
	}()
	for _, f := range forwards {
		h.watching.Add(1)
		go func() {
			defer h.watching.Done()
			if err := f.Run(ctx); err != nil {
				h.log.Warn("port forward", "err", err)
				fmt.Fprintf(out, "port forward %s stopped: %v\n", f.Addr(), err)
			}
		}()
	}
	h.watching.Add(1)
	go func() {
		defer h.watching.Done()
		h.watch(ctx)
	}()
	return h
}

func (h *handle) setApplied(applied []object) {
	refs := make([]ref, len(applied))
	for i, o := range applied {
		refs[i] = o.ref
	}
	h.mu.Lock()
	h.applied = refs
	h.mu.Unlock()
}

func (h *handle) Done() <-chan struct{}         { return h.done }
func (h *handle) Pid() int                      { return 0 }
func (h *handle) Health() <-chan runtime.Health { return h.health }

// Exit is 0 after Stop or a Job that succeeded, 1 for a Job that failed
// or a workload deleted behind loop's back.
func (h *handle) Exit() runtime.Exit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exit
}

// finish closes done with exit, once.
func (h *handle) finish(exit runtime.Exit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.exit, h.closed = exit, true
		close(h.done)
	}
}

// Stop deletes what was applied, in reverse order, waits until it is
// gone (up to the stop timeout plus a grace) and closes Done.
func (h *handle) Stop(ctx context.Context) error {
	h.stop.Do(func() {
		h.cancel()
		timeout := h.spec.StopTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, timeout+stopGrace)
		defer cancel()
		h.mu.Lock()
		refs := h.applied
		h.mu.Unlock()
		h.stopErr = deleteAll(ctx, h.c, refs)
		h.watching.Wait()
		h.finish(runtime.Exit{})
		if h.stopErr != nil {
			h.stopErr = fmt.Errorf("stop %s: %w", h.spec.Name, h.stopErr)
		}
	})
	return h.stopErr
}

// Update applies changes in place through live update; a change it
// cannot apply (outside the sync rules, rebuild_on, or no live update)
// rebuilds the images and applies again: a rollout, not a restart of
// the resource.
func (h *handle) Update(ctx context.Context, changed []string) error {
	if h.live != nil {
		err := h.live.Update(ctx, changed)
		if !errors.Is(err, runtime.ErrRebuild) {
			return err
		}
		h.log.Info("rolling out a rebuilt image", "why", err)
	}
	return h.redeploy(ctx)
}

// redeploy builds, applies and prunes again.
func (h *handle) redeploy(ctx context.Context) error {
	h.deploy.Lock()
	defer h.deploy.Unlock()
	d := &deploy{r: h.r, spec: h.spec, c: h.c}
	applied, err := d.run(ctx)
	if err != nil {
		return fmt.Errorf("update %s: %w", h.spec.Name, err)
	}
	h.setApplied(applied)
	return nil
}

// Restart restarts the service in place under live update, else rolls
// the workload's pods out again (kubectl rollout restart: a pod template
// annotation, owned by its own field manager so loop's applies keep it)
// and returns once the rollout started; Health follows it.
func (h *handle) Restart(ctx context.Context) error {
	if h.live != nil {
		return h.live.Restart(ctx)
	}
	w, ok := h.workloadRef()
	if !ok || !slices.Contains([]string{"Deployment", "StatefulSet", "DaemonSet"}, h.spec.Workload.Kind) {
		return fmt.Errorf("restart %s: a %s cannot be restarted in place without live update: stop and start it (loop restart restarts Deployments, StatefulSets and DaemonSets)", h.spec.Name, cmp.Or(h.spec.Workload.Kind, "group of objects"))
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartedAt, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := resourceOf(h.c, w).Patch(ctx, w.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager + "-restart"}); err != nil {
		return fmt.Errorf("restart %s: %w", h.spec.Name, err)
	}
	return nil
}

// restartedAt is the pod template annotation Restart sets.
const restartedAt = "dev.loop/restartedAt"

// Exec runs a command in the live container.
func (h *handle) Exec(ctx context.Context, spec runtime.ExecSpec) (int, error) {
	pod, err := h.livePod(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", h.spec.Name, err)
	}
	return h.c.Exec(ctx, kube.ExecOptions{
		Namespace: h.pods.Namespace, Pod: pod, Container: h.pods.Container, Argv: spec.Argv,
		Stdin: spec.Stdin, Stdout: spec.Stdout, Stderr: spec.Stderr, TTY: spec.TTY,
	})
}

// liveContainer is the name of the container the supervisor wraps in
// the applied workload.
func liveContainer(applied []object, w *model.Workload) string {
	for _, o := range applied {
		if o.GetKind() != w.Kind || o.GetName() != w.Name {
			continue
		}
		for _, pod := range podSpecs(o.Unstructured) {
			for _, c := range containers(pod.spec, "containers") {
				if argv := stringList(c["command"]); len(argv) > 0 && argv[0] == liveupdate.Supervisor {
					name, _ := c["name"].(string)
					return name
				}
			}
		}
	}
	return w.Container
}

// mainContainer is the container whose log lines go unprefixed: the live
// one, else the one k8s_resource(container=) names, else the workload's
// first.
func mainContainer(applied []object, w *model.Workload) string {
	if w.LiveUpdate || w.Container != "" {
		return liveContainer(applied, w)
	}
	for _, o := range applied {
		if o.GetKind() != w.Kind || o.GetName() != w.Name {
			continue
		}
		for _, pod := range podSpecs(o.Unstructured) {
			for _, c := range containers(pod.spec, "containers") {
				name, _ := c["name"].(string)
				return name
			}
		}
	}
	return ""
}

// prefixWriter puts prefix before each line. Its writes are whole lines
// or the pieces of one long line (kube.Logs writes no more than a line
// at a time).
type prefixWriter struct {
	w       io.Writer
	prefix  string
	atStart bool // the next write starts a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	out := b
	if p.atStart {
		out = append([]byte(p.prefix), b...) // one write: lines of other containers never land between
	}
	p.atStart = b[len(b)-1] == '\n'
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// livePod is the newest pod whose live container runs: from the watch's
// cache once it has synced (a sync asks the API server nothing more than
// the exec), else from the API server.
func (h *handle) livePod(ctx context.Context) (string, error) {
	if st := h.podCache.Load(); st != nil {
		var pods []*corev1.Pod
		for _, o := range (*st).List() {
			if p, ok := o.(*corev1.Pod); ok {
				pods = append(pods, p)
			}
		}
		if name := h.pods.newestRunning(pods); name != "" {
			return name, nil
		}
	}
	return h.pods.Pod(ctx)
}
