package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// readyWait bounds how long a new connection waits for a ready pod (a
// rollout in progress) before it is closed.
const readyWait = time.Minute

// Forwarder forwards a local port to a port of the pods a selector
// matches. Each accepted connection goes to a current ready pod, chosen
// when it is accepted: after a rollout replaced the pods, new connections
// reach the new ones (open ones end with their pod). Streams to one pod
// share one connection to the API server.
type Forwarder struct {
	client    *Client
	namespace string
	selector  string
	remote    int
	ln        net.Listener
	logger    *slog.Logger

	mu     sync.Mutex
	conns  map[string]httpstream.Connection // guarded by mu: per pod name
	open   map[net.Conn]struct{}            // guarded by mu: accepted, not closed
	reqID  int                              // guarded by mu
	closed bool                             // guarded by mu: Run is done
	wg     sync.WaitGroup                   // connection handlers
}

// ErrPortInUse is the error of a Forward whose local port is taken.
var ErrPortInUse = errors.New("local port in use")

// Forward listens on 127.0.0.1:local (0: a free port; Addr tells which)
// for connections to forward to port remote of the pods selector matches
// in namespace ("": the client's). Run serves them. A local port in use
// is an error that says so.
func (c *Client) Forward(namespace, selector string, local, remote int, logger *slog.Logger) (*Forwarder, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(local))
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("forward %s to port %d of %s: local port %d is in use by another program: stop it or forward another local port: %w", addr, remote, selector, local, ErrPortInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("forward %s to port %d of %s: %w", addr, remote, selector, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{
		client: c, namespace: c.ns(namespace), selector: selector, remote: remote, ln: ln,
		logger: logger.With("forward", ln.Addr().String(), "selector", selector, "port", remote),
		conns:  map[string]httpstream.Connection{}, open: map[net.Conn]struct{}{},
	}, nil
}

// Addr is the local address connections are accepted on.
func (f *Forwarder) Addr() *net.TCPAddr { return f.ln.Addr().(*net.TCPAddr) }

// Run accepts and forwards connections until ctx ends, then closes the
// listener, every connection and every stream, and waits for them.
func (f *Forwarder) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { f.ln.Close() })
	defer stop()
	var err error
	for {
		var conn net.Conn
		conn, err = f.ln.Accept()
		if err != nil {
			break
		}
		f.mu.Lock()
		f.open[conn] = struct{}{}
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.handle(ctx, conn)
			f.mu.Lock()
			delete(f.open, conn)
			f.mu.Unlock()
		}()
	}
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.open {
		c.Close()
	}
	for _, sc := range f.conns {
		sc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("forward %s: accept: %w", f.Addr(), err)
}

// handle forwards one accepted connection to a ready pod.
func (f *Forwarder) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	pod, err := f.readyPod(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.logger.Warn("forward: no pod to forward to", "err", err)
		}
		return
	}
	sc, err := f.streamConn(pod)
	if err != nil {
		f.logger.Warn("forward: connect to pod", "pod", pod, "err", err)
		return
	}
	if err := f.pipe(conn, sc); err != nil {
		f.logger.Debug("forward: connection", "pod", pod, "err", err)
	}
}

// pipe copies between conn and a new pair of streams to the remote port
// until either side is done, and returns what the error stream said.
func (f *Forwarder) pipe(conn net.Conn, sc httpstream.Connection) error {
	f.mu.Lock()
	f.reqID++
	id := f.reqID
	f.mu.Unlock()
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(f.remote))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.Itoa(id))
	errStream, err := sc.CreateStream(h)
	if err != nil {
		return fmt.Errorf("error stream: %w", err)
	}
	errStream.Close() // nothing is written to it
	defer sc.RemoveStreams(errStream)
	remoteErr := make(chan error, 1)
	go func() {
		msg, err := io.ReadAll(errStream)
		if err == nil && len(msg) > 0 {
			err = errors.New(string(msg))
		}
		remoteErr <- err
	}()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := sc.CreateStream(h)
	if err != nil {
		return fmt.Errorf("data stream: %w", err)
	}
	defer sc.RemoveStreams(data)
	remoteDone, localDone := make(chan struct{}), make(chan struct{})
	go func() {
		io.Copy(conn, data)
		close(remoteDone)
	}()
	go func() {
		defer data.Close() // no more data to the pod
		if _, err := io.Copy(data, conn); err != nil {
			close(localDone)
		}
	}()
	select {
	case <-remoteDone:
	case <-localDone:
	}
	data.Reset()
	if err := <-remoteErr; err != nil {
		return fmt.Errorf("port %d: %w", f.remote, err)
	}
	return nil
}

// readyPod is the name of the newest ready pod selector matches, waiting
// up to readyWait for one.
func (f *Forwarder) readyPod(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	interval := 100 * time.Millisecond
	for {
		list, err := f.client.Set.CoreV1().Pods(f.namespace).List(ctx, metav1.ListOptions{LabelSelector: f.selector})
		if err == nil {
			if name := newestReady(list.Items); name != "" {
				return name, nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("no ready pod matches %s in %s after %s", f.selector, f.namespace, readyWait)
			}
			return "", err
		case <-time.After(interval):
			interval = min(2*interval, time.Second)
		}
	}
}

// newestReady is the newest pod that is ready and not being deleted.
func newestReady(pods []corev1.Pod) string {
	var best *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
			continue
		}
		if best == nil || p.CreationTimestamp.After(best.CreationTimestamp.Time) {
			best = p
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// streamConn is the connection to pod's port-forward endpoint, made on
// first use (websocket, else SPDY) and kept while it lives. It dials
// without holding mu, so that Run's shutdown never waits on a dial.
func (f *Forwarder) streamConn(pod string) (httpstream.Connection, error) {
	f.mu.Lock()
	for name, sc := range f.conns { // connections to pods that went away are closed
		select {
		case <-sc.CloseChan():
			delete(f.conns, name)
		default:
		}
	}
	sc, ok := f.conns[pod]
	f.mu.Unlock()
	if ok {
		return sc, nil
	}
	u := f.client.Set.CoreV1().RESTClient().Post().Resource("pods").Namespace(f.namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(f.client.Config)
	if err != nil {
		return nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, f.client.Config); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	sc, _, err = dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", f.namespace, pod, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		sc.Close()
		return nil, errors.New("forward stopped")
	}
	if other, ok := f.conns[pod]; ok { // another connection dialled first
		sc.Close()
		return other, nil
	}
	f.conns[pod] = sc
	return sc, nil
}
