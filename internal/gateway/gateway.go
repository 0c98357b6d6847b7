// Package gateway is loopd's local reverse proxy: it gives services stable
// URLs (http://NAME.localhost:PORT, declared with route() in a Loopfile) and
// routes each request by Host and the longest matching path prefix to
// 127.0.0.1:PORT of the target resource.
//
// While a target is not ready (restarting) or its port refuses connections,
// a request is held, not refused: it waits for the readiness source to say
// the target is ready again, or retries after a short backoff, within a
// bound (HoldTimeout per request, MaxHeld requests at once; beyond: 503).
// Retries are safe: a request is retried only if nothing of it reached the
// target (the dial failed), or if it is a GET, HEAD or OPTIONS without a body
// that got no response; any other failure is a 502. A target that accepted
// a request but sends no response within the route's timeout gets a 504.
//
// The gateway serves only Hosts NAME.localhost of declared routes (host.go):
// a page that rebinds its own DNS name to 127.0.0.1 sends its own name as
// Host and gets a 421 that names nothing, and an unknown NAME.localhost gets
// a 404 that names no other route; a protocol upgrade (WebSocket) must come
// from a route's own origin or a loopback one.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of Gateway's bounds.
const (
	// DefaultHoldTimeout bounds how long a request waits for its target
	// to be ready (Gateway.HoldTimeout).
	DefaultHoldTimeout = 30 * time.Second
	// DefaultMaxHeld bounds how many requests wait at once (Gateway.MaxHeld).
	DefaultMaxHeld = 1000
	// DefaultTimeout bounds how long a target may take, once it has the
	// whole request, to send the first byte of its response
	// (Gateway.Timeout, Route.Timeout); the body may then take as long as
	// it takes (streams, server-sent events).
	DefaultTimeout = 30 * time.Second
	// dialTimeout bounds connecting to a target.
	dialTimeout = 5 * time.Second
	minBackoff  = 5 * time.Millisecond
	maxBackoff  = 100 * time.Millisecond
)

// Route sends requests for Host (and Path, a prefix) to 127.0.0.1:Port.
type Route struct {
	Host    string        // "api" or "api.localhost"; matched without the port
	Path    string        // prefix, "/" when empty
	Target  string        // readiness key of the target resource ("project/resource")
	Port    int           // the target's port on 127.0.0.1
	Timeout time.Duration // to the first response byte; 0: Gateway.Timeout
}

// URLHost is the host name the route answers to ("api.localhost").
func (r Route) URLHost() string { return canonicalHost(r.Host) }

// Status is what a Readiness knows of a target.
type Status struct {
	Ready bool
	// Unresponsive: the target runs but stopped answering its readiness
	// probe; Reason says since when and why.
	Unresponsive bool
	Reason       string
}

// Readiness says whether a target is ready; changed is closed at its next
// change of readiness.
type Readiness interface {
	Status(target string) (st Status, changed <-chan struct{})
}

// Gateway is an http.Handler. Its zero value is not usable: use New.
type Gateway struct {
	// HoldTimeout bounds how long one request is held; MaxHeld how many
	// are held at once; Timeout how long a target may take to answer a
	// request (a route's own Timeout wins). Set before serving.
	HoldTimeout time.Duration
	MaxHeld     int
	Timeout     time.Duration
	// Port is the port the gateway listens on: a Host with another port
	// is refused. 0: any port.
	Port int
	// Observe, if set, is called with how long each held request waited
	// (for benchmarks and metrics).
	Observe func(held time.Duration)

	ready     Readiness // nil: always ready
	table     atomic.Pointer[table]
	held      atomic.Int64
	proxy     *httputil.ReverseProxy
	transport *http.Transport // GET, HEAD, OPTIONS: kept-alive connections
	fresh     *http.Transport // other methods: a new connection each, so a request never meets a connection the target closed
}

// table is an immutable route table, sorted by host then longest path first.
type table struct{ routes []Route }

type ctxKey struct{}

// reqState travels with a request through the proxy.
type reqState struct {
	route  Route
	body   *trackedBody // nil without a body
	held   time.Duration
	status Status // the target's, when last asked
}

// New returns a gateway that asks ready about targets (nil: always ready).
func New(ready Readiness) *Gateway {
	g := &Gateway{HoldTimeout: DefaultHoldTimeout, MaxHeld: DefaultMaxHeld, Timeout: DefaultTimeout, ready: ready}
	g.table.Store(&table{})
	g.transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	g.fresh = &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: dialTimeout}).DialContext,
		DisableKeepAlives: true,
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			st := pr.In.Context().Value(ctxKey{}).(*reqState)
			pr.SetURL(&url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(st.route.Port)})
			pr.Out.Host = pr.In.Host // the service sees the URL the browser used
			pr.SetXForwarded()
		},
		Transport:     roundTripper(g.roundTrip),
		FlushInterval: -1, // stream (server-sent events, long polls)
		ErrorHandler:  g.proxyError,
	}
	return g
}

// Close drops idle connections to targets.
func (g *Gateway) Close() { g.transport.CloseIdleConnections() }

// SetRoutes replaces the route table atomically.
func (g *Gateway) SetRoutes(routes []Route) {
	rs := make([]Route, len(routes))
	for i, r := range routes {
		r.Host = canonicalHost(r.Host)
		if r.Path == "" {
			r.Path = "/"
		}
		rs[i] = r
	}
	slices.SortStableFunc(rs, func(a, b Route) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return len(b.Path) - len(a.Path)
	})
	g.table.Store(&table{routes: rs})
}

// Routes returns the current route table.
func (g *Gateway) Routes() []Route { return slices.Clone(g.table.Load().routes) }

// canonicalHost lowercases a declared route host, drops a trailing dot
// and adds ".localhost" to a bare name.
func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if !strings.HasSuffix(h, ".localhost") {
		h += ".localhost"
	}
	return h
}

// lookup finds the route for host (canonical: "api.localhost") and path:
// the longest prefix that ends at a segment boundary.
func (t *table) lookup(host, path string) (Route, bool) {
	for _, r := range t.routes {
		if r.Host == host && prefixMatch(r.Path, path) {
			return r, true
		}
	}
	return Route{}, false
}

func prefixMatch(prefix, path string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// ServeHTTP routes r, holding it while its target is down. A request for
// a Host the gateway does not serve is refused before anything else.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, ok := g.localHost(r.Host)
	if !ok {
		refuse(w, http.StatusMisdirectedRequest, msgMisdirected)
		return
	}
	t := g.table.Load()
	route, ok := t.lookup(host, r.URL.Path)
	if !ok {
		refuse(w, http.StatusNotFound, fmt.Sprintf(msgNoRoute, host))
		return
	}
	if isUpgrade(r) && !t.originAllowed(r.Header.Get("Origin")) {
		refuse(w, http.StatusForbidden, msgOrigin)
		return
	}
	st := &reqState{route: route}
	if r.Body != nil && r.Body != http.NoBody {
		st.body = &trackedBody{rc: r.Body}
		r.Body = st.body
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	g.proxy.ServeHTTP(w, r)
	if st.held > 0 && g.Observe != nil {
		g.Observe(st.held)
	}
}

// Errors of the hold; proxyError maps them to 503 (504 for an unresponsive
// target).
var (
	ErrHoldTimeout = errors.New("target not ready in time")
	ErrTooManyHeld = errors.New("too many requests held")
)

// roundTripper adapts a function to http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// roundTrip sends req to its target, holding it while the target is not
// ready or refuses connections.
func (g *Gateway) roundTrip(req *http.Request) (*http.Response, error) {
	st := req.Context().Value(ctxKey{}).(*reqState)
	var (
		start    time.Time // when the hold began; zero: not held yet
		deadline <-chan time.Time
		backoff  = minBackoff
	)
	hold := func() error { // start holding, once
		if !start.IsZero() {
			return nil
		}
		if g.held.Add(1) > int64(g.MaxHeld) {
			g.held.Add(-1)
			return ErrTooManyHeld
		}
		start = time.Now()
		tm := time.NewTimer(g.HoldTimeout)
		deadline = tm.C
		return nil
	}
	defer func() {
		if !start.IsZero() {
			g.held.Add(-1)
			st.held = time.Since(start)
		}
	}()
	for {
		var changed <-chan struct{}
		if g.ready != nil {
			st.status, changed = g.ready.Status(st.route.Target)
			if !st.status.Ready {
				if err := hold(); err != nil {
					return nil, err
				}
				select {
				case <-changed:
					continue
				case <-deadline:
					return nil, ErrHoldTimeout
				case <-req.Context().Done():
					return nil, req.Context().Err()
				}
			}
		}
		tr := g.transport
		if !safeMethod(req.Method) {
			tr = g.fresh
		}
		resp, err := g.send(tr, req, st.route)
		if err == nil {
			return resp, nil
		}
		if errors.As(err, new(*NoResponseError)) || !retryable(req, st, err) {
			return nil, err
		}
		if err := hold(); err != nil {
			return nil, err
		}
		tm := time.NewTimer(backoff)
		select {
		case <-tm.C:
		case <-changed:
			tm.Stop()
		case <-deadline:
			tm.Stop()
			return nil, ErrHoldTimeout
		case <-req.Context().Done():
			tm.Stop()
			return nil, req.Context().Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// retryable: nothing reached the target (the dial failed), or the request
// is safe to send again (GET, HEAD, OPTIONS without a body).
func retryable(req *http.Request, st *reqState, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return st.body == nil || !st.body.read.Load()
	}
	return safeMethod(req.Method) && (st.body == nil || !st.body.read.Load())
}

// safeMethod reports whether a request may be sent twice.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// trackedBody records whether the transport read from the request body and
// ignores Close, so a request that never reached the target can be sent
// again; the server closes the real body.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error { return nil }
