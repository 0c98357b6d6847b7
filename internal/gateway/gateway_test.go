package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is a real HTTP server on a fixed 127.0.0.1 port that can be
// stopped and started again, as a restarting service is.
type backend struct {
	t    testing.TB
	addr string
	port int
	srv  *http.Server
	done chan struct{}
}

func newBackend(t testing.TB, body string) *backend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{t: t, addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
	b.serve(ln, body)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) serve(ln net.Listener, body string) {
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s", body, r.URL.Path)
	})}
	b.done = make(chan struct{})
	srv, done := b.srv, b.done
	go func() { defer close(done); srv.Serve(ln) }()
}

func (b *backend) stop() {
	if b.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.srv.Shutdown(ctx)
	<-b.done
	b.srv = nil
}

func (b *backend) start(body string) {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.t.Fatal(err)
	}
	b.serve(ln, body)
}

func get(t testing.TB, c *http.Client, url, host string) (int, string, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestGateway_PathPrefix(t *testing.T) {
	api, web, v2 := newBackend(t, "api"), newBackend(t, "web"), newBackend(t, "v2")
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{
		{Host: "app", Path: "/api", Target: "p/api", Port: api.port},
		{Host: "app.localhost", Target: "p/web", Port: web.port},
		{Host: "app", Path: "/api/v2/", Target: "p/v2", Port: v2.port},
	})
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, tc := range []struct{ host, path, want string }{
		{"app.localhost:1234", "/", "web /"},
		{"app.localhost", "/api", "api /api"},
		{"APP.localhost.", "/api/x", "api /api/x"},
		{"app.localhost", "/apix", "web /apix"},
		{"app.localhost", "/api/v2/users", "v2 /api/v2/users"},
	} {
		code, body, err := get(t, srv.Client(), srv.URL+tc.path, tc.host)
		if err != nil || code != 200 || body != tc.want {
			t.Errorf("%s%s: got %d %q %v, want 200 %q", tc.host, tc.path, code, body, err, tc.want)
		}
	}
}

func TestGateway_HoldTimeout(t *testing.T) {
	ready := NewStates()
	ready.Set("p/api", Status{})
	g := New(ready)
	g.HoldTimeout = 50 * time.Millisecond
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: 9}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	code, body, err := get(t, srv.Client(), srv.URL+"/", "api.localhost")
	if err != nil {
		t.Fatal(err)
	}
	if code != 503 || !strings.Contains(body, "not ready after 50ms") {
		t.Errorf("got %d %q, want 503 not ready", code, body)
	}
}

func TestGateway_MaxHeld(t *testing.T) {
	ready := NewStates()
	ready.Set("p/api", Status{})
	g := New(ready)
	g.MaxHeld = 0
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: 9}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	code, body, _ := get(t, srv.Client(), srv.URL+"/", "api.localhost")
	if code != 503 || !strings.Contains(body, "already waiting") {
		t.Errorf("got %d %q, want 503 too many held", code, body)
	}
}

func TestGateway_PostNotResentAfterSend(t *testing.T) {
	// A target that reads the request, then drops the connection: the
	// POST reached it, so it must not be sent again.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	accepted := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Close()
		}
	}()
	g := New(nil)
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: ln.Addr().(*net.TCPAddr).Port}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader("payload"))
	req.Host = "api.localhost"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != 502 || accepted != 1 {
		t.Errorf("got %d after %d connections, want 502 after 1", resp.StatusCode, accepted)
	}
}

// restartLoad sends requests from clients through the gateway while the
// backend is stopped and started restarts times; it returns how long the
// held requests waited and the failures.
func restartLoad(tb testing.TB, clients, restarts int, useReadiness bool) (held []time.Duration, failures []string) {
	be := newBackend(tb, "v0")
	var ready *States
	if useReadiness {
		ready = NewStates()
	}
	var g *Gateway
	if ready != nil {
		g = New(ready)
	} else {
		g = New(nil)
	}
	defer g.Close()
	var mu sync.Mutex
	g.Observe = func(d time.Duration) { mu.Lock(); held = append(held, d); mu.Unlock() }
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: be.port}})
	srv := httptest.NewServer(g)
	defer srv.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			method := "GET" // safe to resend; a POST already sent is never resent (TestGateway_PostNotResentAfterSend)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var body io.Reader
				if method == "POST" {
					body = strings.NewReader("body")
				}
				req, _ := http.NewRequest(method, srv.URL+"/x", body)
				req.Host = "api.localhost:7391"
				resp, err := c.Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || !strings.HasSuffix(string(b), " /x")) {
						err = fmt.Errorf("%d %s", resp.StatusCode, b)
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, method+": "+err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for i := range restarts {
		if ready != nil {
			ready.Set("p/api", Status{})
		}
		be.stop()
		time.Sleep(20 * time.Millisecond) // the restart's downtime, simulated
		be.start(fmt.Sprintf("v%d", i+1))
		if ready != nil {
			ready.Set("p/api", Status{Ready: true})
		}
		time.Sleep(20 * time.Millisecond) // uptime between restarts
	}
	close(stop)
	wg.Wait()
	return held, failures
}

func TestGateway_HoldDuringRestart(t *testing.T) {
	for _, useReady := range []bool{true, false} {
		t.Run(fmt.Sprintf("readiness=%v", useReady), func(t *testing.T) {
			held, failures := restartLoad(t, 20, 20, useReady)
			if len(failures) > 0 {
				t.Errorf("%d failed requests, want 0; first: %s", len(failures), failures[0])
			}
			if len(held) == 0 {
				t.Errorf("no request was held during 20 restarts")
			}
		})
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkGateway_HeldDuringRestart: 20 clients, 20 restarts of 20 ms
// each; reports the wait of the requests that arrived while the target was
// down, and the failures (must be 0).
func BenchmarkGateway_HeldDuringRestart(b *testing.B) {
	for _, useReady := range []bool{true, false} {
		b.Run(fmt.Sprintf("readiness=%v", useReady), func(b *testing.B) {
			var held []time.Duration
			var failed int
			for b.Loop() {
				h, f := restartLoad(b, 20, 20, useReady)
				held = append(held, h...)
				failed += len(f)
			}
			b.ReportMetric(float64(percentile(held, 0.5).Microseconds())/1000, "held-p50-ms")
			b.ReportMetric(float64(percentile(held, 0.95).Microseconds())/1000, "held-p95-ms")
			b.ReportMetric(float64(len(held)), "held-requests")
			b.ReportMetric(float64(failed), "failed-requests")
		})
	}
}
