//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// TestUnresponsive_SIGSTOP: a real service stopped with SIGSTOP keeps
// running but stops answering. Through the gateway a request gets a 504
// within the route's timeout instead of hanging; after three failed
// readiness checks `loop status --json` shows it unresponsive (the same
// process: loop does not restart it) and `loop wait` fails naming it.
// After SIGCONT it is ready again and served.
func TestUnresponsive_SIGSTOP(t *testing.T) {
	e := newEnv(t, "stuck")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("api", %s, env = {"PORT": "%d"}, deps = [],
    readiness = http_probe("http://127.0.0.1:%d/", timeout = "200ms"))
route("api", "api:%d", timeout = "1s")
`, serverCmd(), port, port, port))
	e.up()
	gw := e.gatewayPort()
	through := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", gw), nil)
		req.Host = fmt.Sprintf("api.localhost:%d", gw)
		resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatalf("GET api.localhost through the gateway: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var code int
	var body string
	if !poll(10*time.Second, func() bool { code, body = through(); return code == 200 }) {
		t.Fatalf("before SIGSTOP: got %d %q through the gateway, want 200", code, body)
	}

	ready := e.resource("api")
	if err := syscall.Kill(ready.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(ready.Pid, syscall.SIGCONT) }) // so that loop down can stop it
	if !poll(10*time.Second, func() bool { return procState(ready.Pid) == 'T' }) {
		t.Fatalf("pid %d is not stopped after SIGSTOP", ready.Pid)
	}

	code, body = through()
	want := fmt.Sprintf("loop gateway: api.localhost: no response from api (127.0.0.1:%d) within 1s; the service may be stuck: `loop logs api`", port)
	if code != http.StatusGatewayTimeout || !strings.HasPrefix(body, want) {
		t.Errorf("stopped: got %d %q, want 504 %q", code, body, want)
	}

	var r api.Resource
	if !poll(30*time.Second, func() bool { r = e.resource("api"); return r.State == api.StateUnresponsive }) {
		t.Fatalf("loop status --json: api is %s (%s) 30s after SIGSTOP, want unresponsive", r.State, r.Reason)
	}
	for _, s := range []string{"not answering its readiness probe since", "3 checks failed", "http probe http://127.0.0.1:", "loop restart api"} {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q: want it to contain %q", r.Reason, s)
		}
	}
	if r.Pid != ready.Pid || r.Restarts != 0 {
		t.Errorf("unresponsive: pid %d, %d restarts; want pid %d, not restarted", r.Pid, r.Restarts, ready.Pid)
	}
	if st := e.mustLoop("status").stdout; !strings.Contains(st, "✗ unresponsive") {
		t.Errorf("loop status does not show it unresponsive:\n%s", st)
	}
	w := e.loop("wait", "--timeout", "30s", "--json")
	var res api.WaitResult
	if err := json.Unmarshal([]byte(w.stdout), &res); err != nil {
		t.Fatalf("loop wait --json: %v\n%s", err, w)
	}
	if w.code != 1 || res.Outcome != api.OutcomeFailed || len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Message, "unresponsive: ") {
		t.Errorf("loop wait: exit %d, outcome %s, errors %+v; want exit 1, failed, api unresponsive", w.code, res.Outcome, res.Errors)
	}

	if err := syscall.Kill(ready.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !poll(30*time.Second, func() bool { r = e.resource("api"); return r.State == api.StateReady }) {
		t.Fatalf("after SIGCONT: api is %s (%s), want ready", r.State, r.Reason)
	}
	if r.Pid != ready.Pid || !strings.Contains(r.Reason, "again") {
		t.Errorf("after SIGCONT: pid %d, reason %q; want the same process %d answering again", r.Pid, r.Reason, ready.Pid)
	}
	if code, body := through(); code != 200 || body != "ok\n" {
		t.Errorf("after SIGCONT: got %d %q through the gateway, want 200", code, body)
	}
}

// gatewayPort reads the gateway's port from $LOOP_HOME/gateway.json.
func (e *loopEnv) gatewayPort() int {
	e.t.Helper()
	var info struct{ Port int }
	if !poll(10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(e.home, "gateway.json"))
		return err == nil && json.Unmarshal(b, &info) == nil && info.Port > 0
	}) {
		e.t.Fatal("no gateway.json: the gateway did not start")
	}
	return info.Port
}

// procState is the state letter of pid in /proc ('T': stopped), or 0.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')') // after (comm), which may hold spaces
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
