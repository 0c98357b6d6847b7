// Package kube is the Kubernetes runtime: a KindKube resource's Start
// builds its images locally, gets them to the cluster's nodes (imported
// into their containerd, pinned by image ID so every build is a new tag
// and a rollout), renders its objects (the exact build in every
// container, loop's dev.loop.project/dev.loop.resource labels on objects
// and pod templates, the default namespace, and for live update loop's
// supervisor installed by an init container and wrapping the target
// container's command) and applies them server-side in order (field
// manager "loop"), deleting the objects of this resource a previous
// start applied that are gone from the Loopfile.
//
// The Handle is runtime.Watched: the cluster restarts crashed pods, so
// the handle reports health (the workload's rollout, its pods' crash
// loops, image pulls, OOM kills, scheduling) instead of exiting. Stop
// deletes what was applied in reverse order and waits until it is gone;
// Sweep deletes whatever a project left labelled in its namespace.
// Applying an unchanged resource again changes nothing in the cluster,
// so a restarted loopd adopts its running pods.
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/docker"
)

// Runtime applies KindKube resources to their cluster.
type Runtime struct {
	Logger *slog.Logger // nil: slog.Default()
	Home   string       // LOOP_HOME: the supervisor image's context lives in <Home>/k8s
	Images Builder      // builds loop's images locally
	// Supervisor is a static supervisor to use ("" = supervise.Find's
	// lookup), as for the container runtimes.
	Supervisor string

	mu       sync.Mutex
	imported map[string]bool // under mu: "importer|ref" imported or found
	// clusters is where each project's resources were last started
	// (under mu), for Sweep.
	clusters map[string]clusterOf
}

// clusterOf is a project's cluster and the environment `loop up` ran in
// (its KUBECONFIG).
type clusterOf struct {
	cluster *model.Cluster
	env     []string
}

var _ runtime.Runtime = (*Runtime)(nil)

// Pods names the pods of a workload and the container live update and
// logs are about.
type Pods struct {
	Client    *kube.Client
	Namespace string
	Selector  string // a label selector
	Container string // the live container ("" = the pod's first)
}

func (r *Runtime) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// portWait is how long a port forward's local port in use is tried again.
const portWait = 15 * time.Second

// stopGrace is how long Stop waits for deleted objects beyond the stop
// timeout (pods terminating, finalizers).
const stopGrace = 60 * time.Second

// Start connects to the cluster, builds and imports the images, applies
// the workload's objects and returns a handle that watches them. ctx
// bounds only the start.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Handle, error) {
	if spec.Workload == nil {
		return nil, fmt.Errorf("start %s: no kubernetes workload", spec.Name)
	}
	c, err := kube.Connect(spec.Cluster, spec.Env)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	r.mu.Lock()
	if r.clusters == nil {
		r.clusters = map[string]clusterOf{}
	}
	r.clusters[spec.Project] = clusterOf{spec.Cluster, spec.Env}
	r.mu.Unlock()
	// The forwards listen first: a local port in use fails the start
	// before anything is applied.
	forwards, err := r.forward(ctx, c, spec)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	d := &deploy{r: r, spec: spec, c: c}
	applied, err := d.run(ctx)
	if err != nil {
		closeForwards(forwards)
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	h := newHandle(r, spec, c, applied, forwards)
	return h, nil
}

// forward listens on the workload's port forwards' local ports; each
// sends its connections to the newest ready pod (the handle runs them).
// A port in use is tried again for portWait: the resource's previous
// run, superseded while it started, may still be letting it go.
func (r *Runtime) forward(ctx context.Context, c *kube.Client, spec runtime.Spec) ([]*kube.Forwarder, error) {
	var fs []*kube.Forwarder
	for _, pf := range spec.Workload.PortForwards {
		var f *kube.Forwarder
		var err error
		for deadline := time.Now().Add(portWait); ; {
			f, err = c.Forward(c.Namespace, selectorOf(spec.Project, spec.Name), pf.Local, pf.Remote, r.logger())
			if !errors.Is(err, kube.ErrPortInUse) || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(100 * time.Millisecond):
				continue
			}
			break
		}
		if err != nil {
			closeForwards(fs)
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// closeForwards closes forwards that were never run.
func closeForwards(fs []*kube.Forwarder) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range fs {
		f.Run(ctx) // a done context: closes the listener and returns
	}
}

// deploy is one build, render and apply of a resource.
type deploy struct {
	r       *Runtime
	spec    runtime.Spec
	c       *kube.Client
	imp     importer
	configs map[string]ocispec.ImageConfig // pinned ref -> image config
}

func (d *deploy) out() io.Writer {
	if d.spec.Stdout != nil {
		return d.spec.Stdout
	}
	return io.Discard
}

// run builds, renders, applies and prunes; it returns what it applied.
func (d *deploy) run(ctx context.Context) ([]object, error) {
	w := d.spec.Workload
	if len(w.Images) > 0 || w.LiveUpdate {
		if d.r.Images == nil {
			return nil, errors.New("no image builder: loopd was built without one")
		}
		imp, err := importerFor(d.c, d.spec.Cluster, d.spec.Env)
		if err != nil {
			return nil, err
		}
		d.imp = imp
	}
	rd := render{Project: d.spec.Project, Resource: d.spec.Name, Images: map[string]string{}}
	d.configs = map[string]ocispec.ImageConfig{}
	for _, img := range w.Images {
		b, err := d.image(ctx, img)
		if err != nil {
			return nil, err
		}
		rd.Images[img.Name] = b.Ref
		d.configs[b.Ref] = b.Config
	}
	if w.LiveUpdate {
		ref, err := d.supervisorImage(ctx)
		if err != nil {
			return nil, err
		}
		rd.SupervisorImage = ref
		rd.Wrap = func(image string, command, args []string) ([]string, error) {
			return d.wrap(ctx, image, command, args)
		}
	}
	objs, err := renderObjects(w, rd)
	if err != nil {
		return nil, err
	}
	applied, err := d.apply(ctx, objs)
	if err != nil {
		return nil, err
	}
	if err := d.prune(ctx, applied); err != nil {
		return nil, err
	}
	return applied, nil
}

// supervisorArgv is the one supervisor command line of loop's runtimes.
func supervisorArgv(sig syscall.Signal, timeout time.Duration, argv []string) []string {
	return docker.SupervisorArgv(sig, timeout, argv)
}

// object is an applied object.
type object struct {
	*unstructured.Unstructured
	ref
}

// Pod is the name of the newest running pod of p whose live container
// runs (live update and exec go there), or an error saying there is none.
func (p Pods) Pod(ctx context.Context) (string, error) {
	list, err := p.Client.Set.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{LabelSelector: p.Selector})
	if err != nil {
		return "", fmt.Errorf("find the pod: %w", err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	if name := p.newestRunning(pods); name != "" {
		return name, nil
	}
	return "", fmt.Errorf("no running pod with %s in namespace %s (is the workload crash-looping? see its health)", p.Selector, p.Namespace)
}

// newestRunning is the name of the newest of pods whose live container
// runs, or "".
func (p Pods) newestRunning(pods []*corev1.Pod) string {
	var best *corev1.Pod
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		running := false
		for j, cs := range pod.Status.ContainerStatuses {
			if (p.Container == "" && j == 0 || cs.Name == p.Container) && cs.State.Running != nil {
				running = true
			}
		}
		if running && (best == nil || best.CreationTimestamp.Before(&pod.CreationTimestamp)) {
			best = pod
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}
