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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

const (
	// readyWait bounds how long a new connection waits for a ready pod (a
	// rollout in progress) before it is closed.
	readyWait = time.Minute
	// listenWait bounds how long a connection is held, and retried, while
	// nothing listens on the remote port (a service restarting in place).
	listenWait = 30 * time.Second
	// replayLimit bounds what a connection may send before the pod answers
	// and still be sent again on a retry.
	replayLimit = 1 << 20
	// streamWait bounds the wait for the pod's side to take a new stream,
	// or to end one. Its streaming server handles a connection's frames in
	// a few queues, and a data frame for a stream nobody reads (one whose
	// dial failed) blocks its queue, and every stream behind it, for good.
	streamWait = 5 * time.Second
)

// Forwarder forwards a local port to a port of the pods a selector
// matches. Each accepted connection goes to a current ready pod, chosen
// when it is accepted: after a rollout replaced the pods, new connections
// reach the new ones (open ones end with their pod). While nothing
// listens on the remote port (the service restarts in place) a
// connection is held and retried, what it sent replayed, for up to
// listenWait. Streams to one pod share one connection to the API server
// until a stream on it fails; then it is retired.
type Forwarder struct {
	client    *Client
	namespace string
	selector  string
	remote    int
	ln        net.Listener
	logger    *slog.Logger

	mu     sync.Mutex
	conns  map[*podConn]struct{} // guarded by mu
	open   map[net.Conn]struct{} // guarded by mu: accepted, not closed
	reqID  int                   // guarded by mu
	closed bool                  // guarded by mu: Run is done
	wg     sync.WaitGroup        // connection handlers

	listenWait time.Duration // listenWait; tests shorten it
}

// A podConn is a connection to a pod's port-forward endpoint, shared by
// the connections forwarded to that pod.
type podConn struct {
	pod     string
	sc      httpstream.Connection
	users   int  // guarded by Forwarder.mu
	retired bool // guarded by Forwarder.mu: takes no new streams; closed when unused
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
		conns:  map[*podConn]struct{}{}, open: map[net.Conn]struct{}{}, listenWait: listenWait,
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
	for pc := range f.conns {
		pc.sc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("forward %s: accept: %w", f.Addr(), err)
}

// handle forwards one accepted connection to a ready pod, retrying it
// on a new one while nothing reached the service.
func (f *Forwarder) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	in := newLocal(conn)
	defer close(in.done)
	var since time.Time // of the first failed attempt
	backoff := 10 * time.Millisecond
	for {
		pod, err := f.readyPod(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.logger.Warn("forward: no pod to forward to", "err", err)
			}
			return
		}
		pc, err := f.acquire(pod)
		if err != nil {
			f.logger.Warn("forward: connect to pod", "pod", pod, "err", err)
			return
		}
		a := f.pipe(in, pc.sc)
		f.release(pc, a.err != nil)
		if a.err == nil {
			return
		}
		if !(a.refused || a.stuck) || !in.replayable() {
			f.logger.Debug("forward: connection", "pod", pod, "err", a.err)
			return
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) > f.listenWait {
			f.logger.Warn("forward: gave up on a connection", "pod", pod, "after", f.listenWait, "err", a.err)
			return
		}
		f.logger.Debug("forward: retrying a connection", "pod", pod, "err", a.err)
		if a.stuck {
			continue // at once, on a new connection
		}
		select {
		case <-time.After(backoff):
		case <-in.broken:
			return
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// An attempt is how one try at forwarding a connection ended.
type attempt struct {
	err     error // the forward failed: its connection is retired
	refused bool  // nothing listened on the remote port
	stuck   bool  // the pod's side did not take or end a stream in time
}

// errStuck is the error of a stream the pod's side did not take in time.
var errStuck = errors.New("the pod's side did not answer in time")

// pipe copies between in and a new pair of streams to the remote port
// until either side is done, and says how that went.
func (f *Forwarder) pipe(in *local, sc httpstream.Connection) attempt {
	f.mu.Lock()
	f.reqID++
	id := f.reqID
	f.mu.Unlock()
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(f.remote))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.Itoa(id))
	errStream, err := createStream(sc, h)
	if err != nil {
		return attempt{err: fmt.Errorf("error stream: %w", err), stuck: errors.Is(err, errStuck)}
	}
	defer sc.RemoveStreams(errStream)
	errStream.Close() // nothing is written to it
	remoteErr := make(chan error, 1)
	go func() {
		msg, err := io.ReadAll(errStream)
		if err == nil && len(msg) > 0 {
			err = errors.New(string(msg))
		}
		remoteErr <- err
	}()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := createStream(sc, h)
	if err != nil {
		errStream.Reset()
		return attempt{err: fmt.Errorf("data stream: %w", err), stuck: errors.Is(err, errStuck)}
	}
	defer sc.RemoveStreams(data)
	stop, sent, received := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		in.sendTo(data, stop)
	}()
	go func() {
		defer close(received)
		in.receive(data)
	}()
	select {
	case <-received:
	case <-in.broken:
	}
	close(stop)
	data.Reset()
	<-sent
	<-received
	select {
	case err := <-remoteErr:
		if err != nil {
			return attempt{err: fmt.Errorf("port %d: %w", f.remote, err), refused: strings.Contains(err.Error(), "connection refused")}
		}
		return attempt{}
	case <-time.After(streamWait):
		errStream.Reset()
		return attempt{err: fmt.Errorf("port %d: %w", f.remote, errStuck), stuck: true}
	}
}

// createStream is sc.CreateStream bounded by streamWait, not the 30 s of
// the library: a stream stuck behind a blocked queue is given up on, and
// its connection retired, in good time.
func createStream(sc httpstream.Connection, h http.Header) (httpstream.Stream, error) {
	type result struct {
		s   httpstream.Stream
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := sc.CreateStream(h)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(streamWait):
		go func() { // a late stream is not used
			if r := <-done; r.s != nil {
				r.s.Reset()
				sc.RemoveStreams(r.s)
			}
		}()
		return nil, errStuck
	}
}

// local is the accepted connection's side of a forward. One goroutine
// reads it, so that what it sent before the pod answered can be sent
// again on a retry.
type local struct {
	conn     net.Conn
	chunks   chan []byte   // what was read, in order; closed at its end
	broken   chan struct{} // closed when reading failed (not at EOF)
	done     chan struct{} // closed when the forward is over
	answered atomic.Bool   // a byte came from the pod: nothing is replayed

	// Used by one attempt's sendTo at a time.
	sent     [][]byte // what was sent, while it can be replayed
	size     int      // of sent
	overflow bool     // more than replayLimit was sent before an answer
	eof      bool     // chunks is closed and drained
}

func newLocal(conn net.Conn) *local {
	l := &local{conn: conn, chunks: make(chan []byte), broken: make(chan struct{}), done: make(chan struct{})}
	go l.read()
	return l
}

func (l *local) read() {
	defer close(l.chunks)
	for {
		buf := make([]byte, 32<<10)
		n, err := l.conn.Read(buf)
		if n > 0 {
			select {
			case l.chunks <- buf[:n]:
			case <-l.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				close(l.broken)
			}
			return
		}
	}
}

// sendTo writes to w what was sent before (a retry), then what is read,
// until the end of the input or stop; at the end of the input it closes
// w's sending half.
func (l *local) sendTo(w httpstream.Stream, stop <-chan struct{}) {
	for _, b := range l.sent {
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	for !l.eof {
		select {
		case b, ok := <-l.chunks:
			if !ok {
				l.eof = true
				continue
			}
			l.keep(b)
			if _, err := w.Write(b); err != nil {
				return
			}
		case <-stop:
			return
		}
	}
	w.Close() // no more data to the pod
}

// keep remembers b for a retry while that is still possible.
func (l *local) keep(b []byte) {
	if l.answered.Load() || l.overflow || l.size+len(b) > replayLimit {
		l.overflow = true
		l.sent = nil
		return
	}
	l.sent = append(l.sent, b)
	l.size += len(b)
}

// receive copies what r sends to the local connection.
func (l *local) receive(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.answered.Store(true)
			if _, err := l.conn.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// replayable says whether a new attempt can start over: the pod never
// answered, all that was sent is kept and the local side is still there.
func (l *local) replayable() bool {
	select {
	case <-l.broken:
		return false
	default:
		return !l.answered.Load() && !l.overflow
	}
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

// acquire is a connection to pod's port-forward endpoint for one more
// stream pair: the shared one, or a new one (websocket, else SPDY). It
// dials without holding mu, so that Run's shutdown never waits on a dial.
func (f *Forwarder) acquire(pod string) (*podConn, error) {
	f.mu.Lock()
	for pc := range f.conns {
		if pc.users == 0 && isClosed(pc.sc) { // its pod went away
			delete(f.conns, pc)
			continue
		}
		if pc.pod == pod && !pc.retired && !isClosed(pc.sc) {
			pc.users++
			f.mu.Unlock()
			return pc, nil
		}
	}
	f.mu.Unlock()
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
	sc, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", f.namespace, pod, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		sc.Close()
		return nil, errors.New("forward stopped")
	}
	pc := &podConn{pod: pod, sc: sc, users: 1}
	f.conns[pc] = struct{}{}
	return pc, nil
}

// release ends one use of pc; a failed one retires it (a stream it could
// not end may block others for good). A retired connection, or one the
// pod's side closed, is closed when its last use ends.
func (f *Forwarder) release(pc *podConn, failed bool) {
	f.mu.Lock()
	pc.users--
	pc.retired = pc.retired || failed || isClosed(pc.sc)
	unused := pc.retired && pc.users == 0
	if unused {
		delete(f.conns, pc)
	}
	f.mu.Unlock()
	if unused {
		pc.sc.Close()
	}
}

func isClosed(sc httpstream.Connection) bool {
	select {
	case <-sc.CloseChan():
		return true
	default:
		return false
	}
}
