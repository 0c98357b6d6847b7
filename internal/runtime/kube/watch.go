package kube

// The handle's health: informers on the workload's pods (by label) and
// on the workload object; one goroutine (watch) owns the last state and
// the tails it fetched, so they need no lock.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime"
)

// tailLines is how many of a crashed container's last log lines a
// failing Health carries.
const tailLines = 10

// watch reports health until ctx ends or the workload is gone or done.
func (h *handle) watch(ctx context.Context) {
	kick := make(chan struct{}, 1)
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke(kick) },
		UpdateFunc: func(any, any) { poke(kick) },
		DeleteFunc: func(any) { poke(kick) },
	}
	pf := informers.NewSharedInformerFactoryWithOptions(h.c.Set, 0, informers.WithNamespace(h.pods.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = h.pods.Selector }))
	pods := pf.Core().V1().Pods().Informer()
	pods.AddEventHandler(notify)
	pods.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		h.log.Warn("watch the workload's pods", "namespace", h.pods.Namespace, "err", err)
	})
	ef := informers.NewSharedInformerFactoryWithOptions(h.c.Set, 0, informers.WithNamespace(h.pods.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "type=Warning,involvedObject.kind=Pod" }))
	events := ef.Core().V1().Events().Informer()
	events.AddEventHandler(notify)
	pf.Start(ctx.Done())
	ef.Start(ctx.Done())
	defer pf.Shutdown()
	defer ef.Shutdown()

	var work cache.SharedIndexInformer
	wref, hasWorkload := h.workloadRef()
	if hasWorkload {
		work = dynamicinformer.NewFilteredDynamicInformer(h.c.Dynamic, wref.GVR, wref.Namespace, 0, cache.Indexers{},
			func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", wref.Name).String()
			}).Informer()
		work.AddEventHandler(notify)
		var running sync.WaitGroup
		running.Go(func() { work.Run(ctx.Done()) })
		defer running.Wait()
	}
	// Events only add detail: one who may not list them still gets health.
	synced := []cache.InformerSynced{pods.HasSynced}
	if work != nil {
		synced = append(synced, work.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	store := pods.GetStore()
	h.podCache.Store(&store)
	tails := map[string]string{} // pod/container/restarts -> its last lines
	seen := false
	initialSync := false // the initial sync started
	var last runtime.Health
	for ctx.Err() == nil {
		var obj *unstructured.Unstructured
		if work != nil {
			if item, ok, _ := work.GetStore().GetByKey(wref.Namespace + "/" + wref.Name); ok {
				obj, _ = item.(*unstructured.Unstructured)
			}
		}
		var r rollout
		switch {
		case !hasWorkload:
			r = rollout{Ready: true}
		case obj != nil:
			seen = true
			r = workloadRollout(obj)
		case seen:
			h.log.Warn("the workload was deleted behind loop's back", "object", wref.ID)
			h.publish(&last, runtime.Health{State: runtime.HealthFailing, Reason: wref.ID + " was deleted outside loop"})
			h.finish(runtime.Exit{Code: 1})
			return
		default:
			r = workloadRollout(nil)
		}
		var problems []podProblem
		var current []*corev1.Pod
		for _, item := range pods.GetStore().List() {
			pod, ok := item.(*corev1.Pod)
			if !ok {
				continue
			}
			current = append(current, pod)
			p := podHealth(pod)
			if p.Container != "" {
				p.Reason += h.tail(ctx, tails, pod, p.Container)
			}
			problems = append(problems, p)
		}
		x := summarize(r, problems)
		if x.State == runtime.HealthStarting {
			if w := latestWarning(current, events.GetStore().List()); w != "" {
				x.Reason += "; " + w
			}
		}
		h.publish(&last, x)
		if x.State == runtime.HealthReady && !initialSync && h.live != nil {
			// The pod may be one a previous loopd started: bring its
			// synced paths up to date (only what differs is copied).
			initialSync = true
			h.watching.Go(func() {
				if err := h.live.InitialSync(ctx, true); err != nil && ctx.Err() == nil {
					h.log.Warn("initial sync", "err", err)
					fmt.Fprintf(output.OrDiscard(h.spec.Stderr), "initial sync: %v\n", err)
				}
			})
		}
		if r.Done {
			h.finish(r.Exit)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
	}
}

// latestWarning is the newest Warning event of the pods ("Reason: message"),
// "" when there is none.
func latestWarning(pods []*corev1.Pod, events []any) string {
	uids := map[types.UID]bool{}
	for _, p := range pods {
		uids[p.UID] = true
	}
	var newest *corev1.Event
	for _, item := range events {
		e, ok := item.(*corev1.Event)
		if !ok || !uids[e.InvolvedObject.UID] {
			continue
		}
		if newest == nil || eventTime(newest).Before(eventTime(e)) {
			newest = e
		}
	}
	if newest == nil {
		return ""
	}
	return newest.Reason + ": " + strings.TrimSpace(newest.Message)
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func poke(kick chan struct{}) {
	select {
	case kick <- struct{}{}:
	default:
	}
}

// publish makes x the latest Health unless it is last: a reader that
// fell behind gets the newest state, never a stale one.
func (h *handle) publish(last *runtime.Health, x runtime.Health) {
	if x == *last {
		return
	}
	*last = x
	select {
	case <-h.health:
	default:
	}
	h.health <- x
	h.log.Debug("health", "state", x.State, "reason", x.Reason)
}

// workloadRef is the applied object the resource's Workload names.
func (h *handle) workloadRef() (ref, bool) {
	w := h.spec.Workload
	if w.Kind == "" {
		return ref{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.applied {
		if strings.HasPrefix(r.ID, w.Kind+"/") && r.Name == w.Name {
			return r, true
		}
	}
	return ref{}, false
}

// tail is "\n" and the last log lines of the previous run of the pod's
// container, fetched once per crash.
func (h *handle) tail(ctx context.Context, tails map[string]string, pod *corev1.Pod, container string) string {
	restarts := int32(0)
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if cs.Name == container {
			restarts = cs.RestartCount
		}
	}
	key := fmt.Sprintf("%s/%s/%d", pod.Name, container, restarts)
	if t, ok := tails[key]; ok {
		return t
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines, err := h.c.Tail(ctx, pod.Namespace, pod.Name, container, true, tailLines)
	t := ""
	switch {
	case err != nil:
		h.log.Debug("tail previous logs", "pod", pod.Name, "container", container, "err", err)
	case len(lines) > 0:
		t = "\nlast log lines:\n  " + strings.Join(lines, "\n  ")
	}
	if err == nil || !apierrors.IsNotFound(err) {
		tails[key] = t
	}
	return t
}
