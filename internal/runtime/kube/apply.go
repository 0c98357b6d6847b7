package kube

// Applying, pruning and deleting objects: server-side apply in order,
// deletion in reverse, and what loop finds labelled in a namespace.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// fieldManager owns the fields loop applies.
const fieldManager = "loop"

// ref identifies an object in the cluster.
type ref struct {
	GVR       schema.GroupVersionResource
	Namespace string
	Name      string
	ID        string // Kind/name or Kind/namespace/name, for messages
}

// key identifies ref whatever the API version it was read with.
func (r ref) key() string {
	return r.GVR.Group + "/" + r.GVR.Resource + "/" + r.Namespace + "/" + r.Name
}

func resourceOf(c *kube.Client, r ref) dynamic.ResourceInterface {
	if r.Namespace != "" {
		return c.Dynamic.Resource(r.GVR).Namespace(r.Namespace)
	}
	return c.Dynamic.Resource(r.GVR)
}

// crdWait is how long an object of a kind the cluster does not know yet
// is retried after a CRD was applied (it becomes established).
const crdWait = 30 * time.Second

// apply applies objs server-side in order.
func (d *deploy) apply(ctx context.Context, objs []*unstructured.Unstructured) ([]object, error) {
	applied := make([]object, 0, len(objs))
	force := true
	sawCRD := false
	for i, u := range objs {
		src := d.spec.Workload.Objects[i]
		what := fmt.Sprintf("%s (from %s)", src.ID(), src.Source)
		m, err := d.mapping(ctx, u, sawCRD)
		if err != nil {
			return applied, fmt.Errorf("apply %s: %w", what, err)
		}
		if err := setNamespace(u, m.Scope.Name() == meta.RESTScopeNameNamespace, d.c.Namespace); err != nil {
			return applied, fmt.Errorf("apply %s: %w", what, err)
		}
		r := ref{GVR: m.Resource, Namespace: u.GetNamespace(), Name: u.GetName(), ID: src.ID()}
		data, err := json.Marshal(u.Object)
		if err != nil {
			return applied, fmt.Errorf("apply %s: %w", what, err)
		}
		if _, err := resourceOf(d.c, r).Patch(ctx, r.Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
			return applied, fmt.Errorf("apply %s: %w%s", what, err, applyHint(err, r))
		}
		applied = append(applied, object{u, r})
		if u.GetKind() == "CustomResourceDefinition" {
			d.c.Mapper.Reset()
			sawCRD = true
		}
	}
	return applied, nil
}

// mapping is u's API resource; after a CRD was applied an unknown kind
// is retried until it is known or crdWait passed.
func (d *deploy) mapping(ctx context.Context, u *unstructured.Unstructured, sawCRD bool) (*meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	deadline := time.Now().Add(crdWait)
	for {
		m, err := d.c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) {
			return nil, err
		}
		if !sawCRD || time.Now().After(deadline) {
			return nil, fmt.Errorf("the cluster does not know kind %s in %s: is its CRD installed (apply it before this object)? (%w)", gvk.Kind, gvk.GroupVersion(), err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		d.c.Mapper.Reset()
	}
}

// applyHint says what to do about an apply error.
func applyHint(err error, r ref) string {
	switch {
	case apierrors.IsForbidden(err):
		return ": your kubeconfig's user may not change it there (ask for access, or use another namespace with kubernetes(namespace=...))"
	case apierrors.IsNotFound(err) && r.Namespace != "":
		return fmt.Sprintf(": does namespace %s exist? (kubectl create namespace %s)", r.Namespace, r.Namespace)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return ": fix the manifest"
	}
	return ""
}

// selectorOf selects what loop applied for project (and resource, when
// not "").
// Selector is the label selector of what loop applied for project's
// resource ("": every resource of the project), pods included.
func Selector(project, resource string) string { return selectorOf(project, resource) }

func selectorOf(project, resource string) string {
	s := LabelProject + "=" + LabelValue(project)
	if resource != "" {
		s += "," + LabelResource + "=" + LabelValue(resource)
	}
	return s
}

// prune deletes the objects this resource applied before that are not in
// applied (dropped from the Loopfile), in the namespaces it applies to.
func (d *deploy) prune(ctx context.Context, applied []object) error {
	keep := map[string]bool{}
	namespaces := []string{d.c.Namespace}
	for _, o := range applied {
		keep[o.key()] = true
		if o.Namespace != "" && !slices.Contains(namespaces, o.Namespace) {
			namespaces = append(namespaces, o.Namespace)
		}
	}
	var stale []ref
	for _, ns := range namespaces {
		found, err := labelled(ctx, d.c, ns, selectorOf(d.spec.Project, d.spec.Name))
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		for _, f := range found {
			if !keep[f.key()] {
				stale = append(stale, f)
			}
		}
	}
	for _, r := range stale {
		d.r.logger().Info("deleting an object the Loopfile no longer has", "resource", d.spec.Name, "object", r.ID)
		if err := deleteObject(ctx, d.c, r, metav1.DeletePropagationBackground); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	return nil
}

// labelled lists the objects in namespace that match selector and that
// loop applied (server-side, as field manager "loop"), of every kind
// that can be listed and deleted: the pods of a Deployment carry its
// template's labels and the Endpoints of a Service its labels, but they
// are their controllers' to delete. Core Endpoints (deprecated; every
// list prints a warning) are not listed.
func labelled(ctx context.Context, c *kube.Client, namespace, selector string) ([]ref, error) {
	lists, err := c.Set.Discovery().ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover the cluster's kinds: %w", err)
	}
	var gvrs []schema.GroupVersionResource
	var kinds []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || r.Name == "events" || gv.Group == "" && r.Name == "endpoints" ||
				!slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			gvrs = append(gvrs, gv.WithResource(r.Name))
			kinds = append(kinds, r.Kind)
		}
	}
	var (
		mu    sync.Mutex
		found []ref
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, gvr := range gvrs {
		g.Go(func() error {
			list, err := c.Dynamic.Resource(gvr).Namespace(namespace).List(gctx, metav1.ListOptions{LabelSelector: selector})
			if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("list %s in %s: %w", gvr.Resource, namespace, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, u := range list.Items {
				if metav1.GetControllerOf(&u) != nil || !appliedByLoop(&u) {
					continue
				}
				found = append(found, ref{GVR: gvr, Namespace: namespace, Name: u.GetName(), ID: kinds[i] + "/" + namespace + "/" + u.GetName()})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b ref) int { return strings.Compare(a.key(), b.key()) })
	return found, nil
}

// appliedByLoop reports whether loop's field manager applied u.
func appliedByLoop(u *unstructured.Unstructured) bool {
	for _, m := range u.GetManagedFields() {
		if m.Manager == fieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// deleteObject deletes r; one already gone is no error.
func deleteObject(ctx context.Context, c *kube.Client, r ref, propagation metav1.DeletionPropagation) error {
	err := resourceOf(c, r).Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &propagation})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", r.ID, err)
	}
	return nil
}

// deleteAll deletes refs in reverse order (foreground: a workload's pods
// go first) and waits until each is gone or ctx ends.
func deleteAll(ctx context.Context, c *kube.Client, refs []ref) error {
	var errs []error
	for _, r := range slices.Backward(refs) {
		if err := deleteObject(ctx, c, r, metav1.DeletePropagationForeground); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range slices.Backward(refs) {
		if err := waitGone(ctx, c, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// waitGone polls until r is gone or ctx ends.
func waitGone(ctx context.Context, c *kube.Client, r ref) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := resourceOf(c, r).Get(ctx, r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delete %s: still there: %w", r.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

// Sweep deletes what project's resources left in the cluster they were
// last started on in this loopd (the sweep that ends `loop down`): see
// SweepCluster. Nothing when none was started.
func (r *Runtime) Sweep(ctx context.Context, project string) error {
	r.mu.Lock()
	at, ok := r.clusters[project]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	return SweepCluster(ctx, project, at.cluster, at.env)
}

// SweepCluster deletes every object labelled with project in the
// cluster's namespace (loop down after a start cut short or a loopd
// crash: no handle knows them) and waits until they are gone or ctx
// ends. Cluster-scoped objects are left: another namespace's loop may
// share the project's name.
func SweepCluster(ctx context.Context, project string, cluster *model.Cluster, env []string) error {
	c, err := kube.Connect(cluster, env)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", project, err)
	}
	refs, err := labelled(ctx, c, c.Namespace, selectorOf(project, ""))
	if err != nil {
		return fmt.Errorf("sweep %s: %w", project, err)
	}
	if err := deleteAll(ctx, c, refs); err != nil {
		return fmt.Errorf("sweep %s: %w", project, err)
	}
	return nil
}

var _ runtime.Remover = (*Runtime)(nil)

// Remove deletes what loop applied for spec's resource in the cluster's
// namespace when no handle knows it (a start that failed half-way, a
// loopd that crashed), and waits until it is gone or ctx ends.
func (r *Runtime) Remove(ctx context.Context, spec runtime.Spec) error {
	c, err := kube.Connect(spec.Cluster, spec.Env)
	if err != nil {
		return fmt.Errorf("remove %s: %w", spec.Name, err)
	}
	refs, err := labelled(ctx, c, c.Namespace, selectorOf(spec.Project, spec.Name))
	if err != nil {
		return fmt.Errorf("remove %s: %w", spec.Name, err)
	}
	if err := deleteAll(ctx, c, refs); err != nil {
		return fmt.Errorf("remove %s: %w", spec.Name, err)
	}
	return nil
}
