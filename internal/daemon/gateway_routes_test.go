package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// startDaemonGateway runs an in-process loopd with its gateway on a free
// port and returns a client and the gateway's address.
func startDaemonGateway(t *testing.T) (*api.Client, loophome.GatewayInfo) {
	t.Setenv("LOOP_GATEWAY_PORT", "0")
	c := startDaemon(t)
	home := filepath.Dir(c.Socket)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info loophome.GatewayInfo
		b, err := os.ReadFile(loophome.GatewayFile(home))
		if err == nil && json.Unmarshal(b, &info) == nil {
			return c, info
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestGateway_RestartUnderLoad: a real HTTP service routed by route() is
// restarted 20 times through the API while 20 clients send requests to
// http://web.localhost:PORT/ through the gateway: none fails.
func TestGateway_RestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bench/testserver")
	}
	bin := filepath.Join(t.TempDir(), "testserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../../bench/testserver").CombinedOutput(); err != nil {
		t.Fatalf("build testserver: %v\n%s", err, out)
	}
	content := filepath.Join(t.TempDir(), "index.html")
	if err := os.WriteFile(content, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, gw := startDaemonGateway(t)
	port := freePort(t)
	lf := writeLoopfile(t, fmt.Sprintf(`
service("web", [%q], env = {"PORT": "%d", "CONTENT_FILE": %q}, deps = [],
    readiness = http_probe("http://127.0.0.1:%d/", period = "10ms"))
route("web", "web:%d")
`, bin, port, content, port, port))
	p := up(t, c, lf)

	url := fmt.Sprintf("http://127.0.0.1:%d/", gw.Port)
	host := fmt.Sprintf("web.localhost:%d", gw.Port)
	var (
		mu       sync.Mutex
		ok       int
		failures []string
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: &http.Transport{}, Timeout: 40 * time.Second}
			defer hc.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Host = host
				resp, err := hc.Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || string(b) != "hello") {
						err = fmt.Errorf("%d %q", resp.StatusCode, b)
					}
				}
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					ok++
				}
				mu.Unlock()
			}
		}()
	}
	ctx := context.Background()
	pid := func() int {
		snap, err := c.Project(ctx, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Resources[0].Pid
	}
	for i := range 20 {
		before := pid()
		if err := c.Action(ctx, p.Name, "web", "restart"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			snap, err := c.Project(ctx, p.Name)
			if err != nil {
				t.Fatal(err)
			}
			r := snap.Resources[0]
			if r.Pid != before && r.Pid != 0 && r.State == api.StateReady {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("restart %d: %s after 30s (%s)", i+1, r.State, r.Reason)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests through 20 restarts, %d failed", ok, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d failed requests, want 0; first: %s", len(failures), failures[0])
	}
	if ok == 0 {
		t.Error("no request succeeded")
	}
}

// TestGateway_ServesOnlyItsRoutes: through a real loopd, a declared route
// is served; an unknown NAME.localhost gets a 404 that names no route,
// path or Loopfile, and a foreign Host (DNS rebinding) a 421.
func TestGateway_ServesOnlyItsRoutes(t *testing.T) {
	c, gw := startDaemonGateway(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer target.Close()
	port := target.Listener.Addr().(*net.TCPAddr).Port
	lf := writeLoopfile(t, fmt.Sprintf("service(\"web\", \"sleep 60\", deps = [])\nroute(\"web\", \"web:%d\", path = \"/app\")\n", port))
	p := up(t, c, lf)
	get := func(host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/app", gw.Port), nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	web := fmt.Sprintf("web.localhost:%d", gw.Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(web)
		if code == 200 && body == "hello" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/app: got %d %q, want 200 hello", web, code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	snap, err := c.Project(context.Background(), p.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Routes) != 1 || snap.Routes[0].Host != "web.localhost" || snap.Routes[0].Path != "/app" || snap.Routes[0].Port != port {
		t.Errorf("the snapshot's routes: %+v, want web.localhost/app -> web:%d (`loop status` lists them)", snap.Routes, port)
	}
	code, body := get(fmt.Sprintf("nope.localhost:%d", gw.Port))
	if want := "loop gateway: no route for nope.localhost: `loop status` lists routes\n"; code != 404 || body != want {
		t.Errorf("unknown host: got %d %q, want 404 %q", code, body, want)
	}
	for _, host := range []string{fmt.Sprintf("evil.example:%d", gw.Port), fmt.Sprintf("127.0.0.1:%d", gw.Port), "web.localhost:1"} {
		code, body := get(host)
		if code != http.StatusMisdirectedRequest || strings.Contains(body, "web") || strings.Contains(body, lf) {
			t.Errorf("Host %s: got %d %q, want 421 naming nothing", host, code, body)
		}
	}
}

func TestGatewayTimeout(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		err  bool
	}{
		{"", 30 * time.Second, false},
		{"90s", 90 * time.Second, false},
		{"1h", time.Hour, false},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"2h", 0, true},
		{"soon", 0, true},
	} {
		t.Setenv("LOOP_GATEWAY_TIMEOUT", tc.env)
		got, err := gatewayTimeout()
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("LOOP_GATEWAY_TIMEOUT=%q: got %s, %v; want %s, error %v", tc.env, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "LOOP_GATEWAY_TIMEOUT") {
			t.Errorf("LOOP_GATEWAY_TIMEOUT=%q: error %q does not name the variable", tc.env, err)
		}
	}
}
