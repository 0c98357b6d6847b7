package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// maxLogChunk bounds what is read of a log line at once: a longer line is
// written in pieces, never dropped.
const maxLogChunk = 64 << 10

// Logs follows the logs of every container of every pod a label selector
// matches in a namespace: pods that appear later too, each container
// from the start of its first instance, and after a restart the new
// instance (the lines of the old one delivered once, none replayed).
// Set its fields, then call Run.
type Logs struct {
	Client    *Client
	Namespace string // "": the client's
	Selector  string // a label selector: "app=web"
	// Writer is where the lines of a container of a pod go, each with
	// its newline; nil does not follow that container. It is called once
	// per pod and container (init containers included), from one
	// goroutine at a time; lines of one container are written in order
	// by one goroutine.
	Writer func(pod, container string) io.Writer
	Logger *slog.Logger

	mu   sync.Mutex
	pods map[types.UID]*podLogs // guarded by mu
	wg   sync.WaitGroup         // the container followers
	ctx  context.Context        // Run's, for the followers
}

// podLogs is what Logs knows of one pod: its latest state and a wake-up
// for each follower of its containers.
type podLogs struct {
	pod  *corev1.Pod // guarded by Logs.mu
	gone bool        // guarded by Logs.mu: deleted
	wake []chan struct{}
}

// Run follows the logs until ctx ends, then waits for its goroutines.
func (l *Logs) Run(ctx context.Context) error {
	ns := l.Client.ns(l.Namespace)
	l.ctx = ctx
	l.pods = map[types.UID]*podLogs{}
	f := informers.NewSharedInformerFactoryWithOptions(l.Client.Set, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = l.Selector }))
	inf := f.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.update(obj, false) },
		UpdateFunc: func(_, obj any) { l.update(obj, false) },
		DeleteFunc: func(obj any) { l.update(obj, true) },
	})
	if err != nil {
		return fmt.Errorf("follow logs of %s in %s: %w", l.Selector, ns, err)
	}
	f.Start(ctx.Done())
	<-ctx.Done()
	f.Shutdown()
	l.wg.Wait()
	return nil
}

// update records a pod's new state, starts followers for containers not
// followed yet and wakes the others.
func (l *Logs) update(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pods[pod.UID]
	if p == nil {
		if deleted || l.ctx.Err() != nil {
			return
		}
		p = &podLogs{pod: pod}
		l.pods[pod.UID] = p
		for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			w := l.Writer(pod.Name, c.Name)
			if w == nil {
				continue
			}
			wake := make(chan struct{}, 1)
			p.wake = append(p.wake, wake)
			fl := &follower{logs: l, p: p, ns: pod.Namespace, pod: pod.Name, uid: pod.UID, container: c.Name, w: w, wake: wake}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				fl.run(l.ctx)
			}()
		}
		return
	}
	p.pod = pod
	p.gone = p.gone || deleted
	for _, w := range p.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	if deleted {
		delete(l.pods, pod.UID)
	}
}

// follower follows one container of one pod, instance after instance.
// Its fields are its goroutine's own.
type follower struct {
	logs         *Logs
	p            *podLogs
	ns, pod      string
	uid          types.UID
	container    string
	w            io.Writer
	wake         chan struct{}
	last         time.Time // the timestamp of the last line delivered, of any instance
	done         string    // an instance whose logs were delivered to its end
	idleInterval time.Duration
}

// instance is the container's current instance: its ID, whether it has
// started and whether it has ended; gone when the pod is.
func (f *follower) instance() (id string, started, ended, gone bool) {
	f.logs.mu.Lock()
	defer f.logs.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{f.p.pod.Status.InitContainerStatuses, f.p.pod.Status.ContainerStatuses} {
		for _, cs := range list {
			if cs.Name != f.container {
				continue
			}
			st := cs.State
			return cs.ContainerID, cs.ContainerID != "" && (st.Running != nil || st.Terminated != nil), st.Terminated != nil, f.p.gone
		}
	}
	return "", false, false, f.p.gone
}

func (f *follower) run(ctx context.Context) {
	f.idleInterval = 250 * time.Millisecond
	for ctx.Err() == nil {
		id, started, ended, gone := f.instance()
		if started && id != f.done {
			// f.last stays across instances: a new one's lines are
			// later, and a stream the kubelet already serves from the
			// new instance while the status still names the old one is
			// not replayed when the status catches up.
			n, err := f.stream(ctx)
			if err != nil && ctx.Err() == nil {
				f.logger().Debug("log stream", "pod", f.pod, "container", f.container, "err", err)
			}
			if n > 0 {
				f.idleInterval = 250 * time.Millisecond
			}
			if id2, _, ended2, _ := f.instance(); err == nil && (ended || ended2 || id2 != id) {
				f.done = id // the stream ran to the end of an instance that ended
			}
			if f.done == id {
				continue
			}
		} else if gone {
			return
		}
		// Nothing to follow now: wait for the pod to change (a new
		// instance, a status that says the last one ended), or retry a
		// stream that ended early.
		select {
		case <-ctx.Done():
		case <-f.wake:
		case <-time.After(f.idleInterval):
			f.idleInterval = min(2*f.idleInterval, 5*time.Second)
		}
	}
}

// stream follows the current instance from where it was left and
// returns how many lines it delivered.
func (f *follower) stream(ctx context.Context) (int, error) {
	opts := &corev1.PodLogOptions{Container: f.container, Follow: true, Timestamps: true}
	if !f.last.IsZero() {
		since := metav1.NewTime(f.last.Truncate(time.Second))
		opts.SinceTime = &since
	}
	rc, err := f.logs.Client.Set.CoreV1().Pods(f.ns).GetLogs(f.pod, opts).Stream(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return f.copyLines(rc)
}

// copyLines writes the lines of a stream with timestamps that are past
// the last delivered, without their timestamps, and returns how many.
func (f *follower) copyLines(rc io.Reader) (int, error) {
	br := bufio.NewReaderSize(rc, maxLogChunk)
	n := 0
	cont, skip := false, false // the next read continues a long line; which is a replayed one
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			switch ts, line, ok := cutTimestamp(chunk); {
			case cont:
				if !skip {
					f.w.Write(chunk)
				}
			case !ok:
				skip = false
				f.w.Write(chunk)
			case ts.After(f.last):
				skip = false
				f.last = ts
				f.w.Write(line)
				n++
			default:
				skip = true
			}
			cont = errors.Is(err, bufio.ErrBufferFull)
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			if !skip && (cont || (len(chunk) > 0 && chunk[len(chunk)-1] != '\n')) {
				f.w.Write([]byte{'\n'})
			}
			return n, nil
		}
		return n, err
	}
}

func (f *follower) logger() *slog.Logger {
	if f.logs.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.logs.Logger
}

// cutTimestamp splits "RFC3339Nano-timestamp line" as the log API sends
// it with Timestamps.
func cutTimestamp(b []byte) (time.Time, []byte, bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return time.Time{}, b, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, b, false
	}
	return ts, b[i+1:], true
}

// Tail returns the last lines (0: all) of a container of a pod: of its
// previous instance when previous (the one that crashed before a restart).
func (c *Client) Tail(ctx context.Context, ns, pod, container string, previous bool, lines int) ([]string, error) {
	ns = c.ns(ns)
	opts := &corev1.PodLogOptions{Container: container, Previous: previous}
	if lines > 0 {
		n := int64(lines)
		opts.TailLines = &n
	}
	b, err := c.Set.CoreV1().Pods(ns).GetLogs(pod, opts).DoRaw(ctx)
	if err != nil {
		if why := c.notRunning(ctx, ns, pod, container); why != nil && !previous {
			return nil, fmt.Errorf("logs: %w", why)
		}
		return nil, fmt.Errorf("logs of container %s of pod %s/%s: %w", container, ns, pod, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}
