package gateway

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGateway_StoppedProcess: a real service process stopped with SIGSTOP
// (its kernel still accepts connections) gets a 504 within the route's
// timeout instead of hanging, and is served again after SIGCONT.
func TestGateway_StoppedProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("port %q: %v", line, err)
	}
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{{Host: "api", Target: "p/api", Port: port, Timeout: 200 * time.Millisecond}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	if code, body, err := get(t, c, srv.URL+"/", "api.localhost"); err != nil || code != 200 || body != "hello" {
		t.Fatalf("before SIGSTOP: got %d %q %v, want 200 hello", code, body, err)
	}

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitProcState(t, pid, 'T')
	code, body, err := get(t, c, srv.URL+"/", "api.localhost")
	want := fmt.Sprintf("loop gateway: api.localhost: no response from api (127.0.0.1:%d) within 200ms; the service may be stuck: `loop logs api`", port)
	if err != nil || code != http.StatusGatewayTimeout || !strings.HasPrefix(body, want) {
		t.Errorf("stopped: got %d %q %v, want 504 %q", code, body, err, want)
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code, body, err := get(t, c, srv.URL+"/", "api.localhost"); err != nil || code != 200 || body != "hello" {
		t.Errorf("after SIGCONT: got %d %q %v, want 200 hello", code, body, err)
	}
}

// waitProcState polls /proc until pid is in state (e.g. 'T': stopped).
func waitProcState(t *testing.T, pid int, state byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// pid (comm) STATE ...: comm may hold spaces, so look after the last ')'.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && b[i+2] == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d is not in state %c after 10s: %s", pid, state, b)
		}
		time.Sleep(time.Millisecond)
	}
}
