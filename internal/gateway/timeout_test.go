package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// silentBackend accepts connections and reads requests but never answers,
// as a stuck service does; it counts connections.
func silentBackend(t *testing.T) (port int, conns *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port, conns
}

// TestGateway_NoResponse: a target that accepted the request and does not
// answer gets a 504 naming the route, the target and the timeout (the
// route's own, else the gateway's); a GET is not sent twice.
func TestGateway_NoResponse(t *testing.T) {
	port, conns := silentBackend(t)
	g := New(nil)
	defer g.Close()
	g.Timeout = 80 * time.Millisecond
	g.SetRoutes([]Route{
		{Host: "api", Target: "p/api", Port: port, Timeout: 100 * time.Millisecond},
		{Host: "web", Target: "p/web", Port: port},
	})
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := &http.Client{Timeout: 30 * time.Second} // the old gateway waited for ever
	for _, tc := range []struct{ host, want string }{
		{"api.localhost", fmt.Sprintf("loop gateway: api.localhost: no response from api (127.0.0.1:%d) within 100ms; the service may be stuck: `loop logs api`", port)},
		{"web.localhost", fmt.Sprintf("loop gateway: web.localhost: no response from web (127.0.0.1:%d) within 80ms;", port)},
	} {
		before := conns.Load()
		code, body, err := get(t, c, srv.URL+"/", tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusGatewayTimeout || !strings.HasPrefix(body, tc.want) {
			t.Errorf("%s: got %d %q, want 504 %q", tc.host, code, body, tc.want)
		}
		if n := conns.Load() - before; n != 1 {
			t.Errorf("%s: the target got %d connections, want 1 (a request that got no answer is not sent again)", tc.host, n)
		}
	}
}

// TestGateway_TimeoutIsToFirstByte: a response whose headers come in time
// may stream for longer than the timeout (server-sent events), and a slow
// upload is not cut short: the clock runs from the end of the request to
// the first byte of the response.
func TestGateway_TimeoutIsToFirstByte(t *testing.T) {
	const timeout = 50 * time.Millisecond
	const pause = 6 * timeout // longer than the timeout, on purpose
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "got %s", b)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			if i > 0 {
				time.Sleep(pause)
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	}))
	defer be.Close()
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: be.Listener.Addr().(*net.TCPAddr).Port, Timeout: timeout}})
	srv := httptest.NewServer(g)
	defer srv.Close()

	code, body, err := get(t, srv.Client(), srv.URL+"/events", "api.localhost")
	if err != nil || code != 200 || body != "data: 0\n\ndata: 1\n\ndata: 2\n\n" {
		t.Errorf("stream: got %d %q %v, want 200 and the three events", code, body, err)
	}

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("a"))
		time.Sleep(pause)
		pw.Write([]byte("b"))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/upload", pr)
	req.Host = "api.localhost"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "got ab" {
		t.Errorf("slow upload: got %d %q, want 200 \"got ab\"", resp.StatusCode, b)
	}
}

// TestGateway_HoldUnresponsive: a request for an unresponsive target is
// held like one for a target that is not ready: answered once it is ready
// again, else a 504 that says it is unresponsive and why.
func TestGateway_HoldUnresponsive(t *testing.T) {
	be := newBackend(t, "api")
	ready := NewStates()
	why := "not answering its readiness probe since 10:00:00 (3 checks failed): http probe http://127.0.0.1/healthz: probe timed out after 1s"
	ready.Set("p/api", Status{Unresponsive: true, Reason: why})
	g := New(ready)
	defer g.Close()
	g.HoldTimeout = 50 * time.Millisecond
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: be.port}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	code, body, err := get(t, srv.Client(), srv.URL+"/", "api.localhost")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("loop gateway: api.localhost: api (127.0.0.1:%d) is unresponsive (waited 50ms for it): %s\n", be.port, why)
	if code != http.StatusGatewayTimeout || body != want {
		t.Errorf("got %d %q, want 504 %q", code, body, want)
	}

	g2 := New(ready) // one that holds long enough
	defer g2.Close()
	g2.SetRoutes(g.Routes())
	srv2 := httptest.NewServer(g2)
	defer srv2.Close()
	done := make(chan string, 1)
	go func() {
		code, body, err := get(t, srv2.Client(), srv2.URL+"/x", "api.localhost")
		done <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for g2.held.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request was not held")
		}
		time.Sleep(time.Millisecond)
	}
	ready.Set("p/api", Status{Ready: true})
	if got := <-done; got != "200 api /x <nil>" {
		t.Errorf("held request: got %s, want 200 api /x", got)
	}
}
