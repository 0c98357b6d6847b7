package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// countingBackend is a real HTTP server that counts the requests it gets.
func countingBackend(t *testing.T) (port int, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "hello")
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port, hits
}

// gatewayServer serves g on a real 127.0.0.1 port and tells g that port.
func gatewayServer(t *testing.T, g *Gateway) (url string, port int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	g.Port = port // before serving
	srv := httptest.NewUnstartedServer(g)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, port
}

// TestGateway_RefusesForeignHosts: a Host that is not NAME.localhost (a
// DNS-rebinding page's own name, an IP, localhost itself) or that has
// another port gets a 421 naming nothing, and the target never sees it.
func TestGateway_RefusesForeignHosts(t *testing.T) {
	target, hits := countingBackend(t)
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{{Host: "api", Path: "/secret", Target: "p/api", Port: target}})
	url, port := gatewayServer(t, g)
	p := strconv.Itoa(port)
	for _, host := range []string{
		"evil.example", "evil.example:" + p, "127.0.0.1:" + p, "127.0.0.1", "localhost:" + p, "localhost",
		"[::1]:" + p, "api.localhost.evil.example:" + p, "api.localhost:1", "api-localhost:" + p,
		".localhost:" + p, "a..localhost", "-api.localhost", "api_x.localhost",
	} {
		code, body, err := get(t, http.DefaultClient, url+"/secret", host)
		if err != nil {
			t.Fatalf("Host %q: %v", host, err)
		}
		if code != http.StatusMisdirectedRequest || body != msgMisdirected {
			t.Errorf("Host %q: got %d %q, want 421 %q", host, code, body, msgMisdirected)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the target got %d requests for foreign hosts, want 0", n)
	}
	for _, host := range []string{"api.localhost", "API.LocalHost.", "api.localhost:" + p, "api.localhost.:" + p} {
		code, body, err := get(t, http.DefaultClient, url+"/secret/x", host)
		if err != nil || code != 200 || body != "hello" {
			t.Errorf("Host %q: got %d %q %v, want 200 hello", host, code, body, err)
		}
	}
}

// TestGateway_UnknownHost: an unknown NAME.localhost (or a path no route
// of the host matches) gets a 404 that names no route, path, port or
// Loopfile position.
func TestGateway_UnknownHost(t *testing.T) {
	target, hits := countingBackend(t)
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{{Host: "api", Path: "/secret", Target: "p/api", Port: target}})
	url, port := gatewayServer(t, g)
	for _, tc := range []struct{ host, path, want string }{
		{"nope.localhost:" + strconv.Itoa(port), "/", "loop gateway: no route for nope.localhost: `loop status` lists routes\n"},
		{"Nope.Localhost.", "/secret", "loop gateway: no route for nope.localhost: `loop status` lists routes\n"},
		{"api.localhost", "/other", "loop gateway: no route for api.localhost: `loop status` lists routes\n"},
	} {
		code, body, err := get(t, http.DefaultClient, url+tc.path, tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if code != 404 || body != tc.want {
			t.Errorf("%s%s: got %d %q, want 404 %q", tc.host, tc.path, code, body, tc.want)
		}
		for _, leak := range []string{"secret", strconv.Itoa(target), "p/api", "Loopfile"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s%s: the 404 names %q: %q", tc.host, tc.path, leak, body)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the target got %d requests, want 0", n)
	}
}

// TestGateway_UpgradeOrigin: a WebSocket-style upgrade from a page of
// another site is refused; from a route's own origin, a loopback origin
// or a non-browser client (no Origin) it passes.
func TestGateway_UpgradeOrigin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoUpgrade(t, ln)
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{
		{Host: "web", Target: "p/web", Port: ln.Addr().(*net.TCPAddr).Port},
		{Host: "app", Target: "p/web", Port: ln.Addr().(*net.TCPAddr).Port},
	})
	url, port := gatewayServer(t, g)
	addr := strings.TrimPrefix(url, "http://")
	host := "web.localhost:" + strconv.Itoa(port)
	for _, origin := range []string{"", "http://web.localhost:" + strconv.Itoa(port), "http://APP.localhost:1234",
		"http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080"} {
		if err := upgradeFrom(addr, host, origin, "hi"); err != nil {
			t.Errorf("Origin %q: %v, want the upgrade through", origin, err)
		}
	}
	for _, origin := range []string{"http://evil.example", "https://evil.example:" + strconv.Itoa(port), "null",
		"http://nope.localhost:" + strconv.Itoa(port), "file://", "http://192.168.1.10"} {
		err := upgradeFrom(addr, host, origin, "hi")
		if err == nil || !strings.Contains(err.Error(), "got 403") || !strings.Contains(err.Error(), "cross-origin upgrade refused") {
			t.Errorf("Origin %q: %v, want 403 cross-origin upgrade refused", origin, err)
		}
	}
	// A plain request from another origin is the browser's and the
	// service's business (CORS): it passes.
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Host = host
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		t.Errorf("a plain cross-origin GET got 403; the gateway checks Origin on upgrades only")
	}
}
