package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loopdev/loop/internal/model"
)

var testEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}

func check(p *model.Probe) error {
	return New(p, "", testEnv).Check(context.Background())
}

func TestHTTP_Check(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://loop-probe.invalid/elsewhere", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path string
		want string // "" means ready
	}{
		{"/ok", ""},
		{"/away", ""}, // 3xx is ready; the redirect is not followed
		{"/down", "status 503 Service Unavailable"},
		{"/missing", "status 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := check(&model.Probe{Kind: model.ProbeHTTP, URL: srv.URL + tt.path})
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want ready", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want error containing %q", err, tt.want)
			}
			var se *StatusError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *StatusError", err)
			}
		})
	}
}

func TestHTTP_Check_newConnectionEachTime(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := New(&model.Probe{Kind: model.ProbeHTTP, URL: srv.URL}, "", nil)
	for range 3 {
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("3 checks used %d connections, want 3 (no keep-alive)", got)
	}
}

func TestHTTP_Check_timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	err := check(&model.Probe{Kind: model.ProbeHTTP, URL: srv.URL, Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Check = %v, want ErrTimeout", err)
	}
}

func TestHTTP_Check_refused(t *testing.T) {
	addr := closedAddr(t)
	err := check(&model.Probe{Kind: model.ProbeHTTP, URL: "http://" + addr + "/"})
	if err == nil || !strings.Contains(err.Error(), "http probe http://"+addr) {
		t.Errorf("Check = %v, want an http probe error", err)
	}
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTCP_Check(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := check(&model.Probe{Kind: model.ProbeTCP, Addr: ln.Addr().String()}); err != nil {
		t.Errorf("Check on a listener = %v, want ready", err)
	}
	addr := closedAddr(t)
	err = check(&model.Probe{Kind: model.ProbeTCP, Addr: addr})
	if err == nil || !strings.HasPrefix(err.Error(), "tcp probe "+addr) {
		t.Errorf("Check on a closed port = %v, want a tcp probe error", err)
	}
}

func TestExec_Check(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644)
	env := append(testEnv, "X=y")
	tests := []struct {
		cmd  []string
		want string // "" means ready
	}{
		{[]string{"true"}, ""},
		{[]string{"sh", "-c", `test "$X" = y && test -f marker`}, ""}, // env and dir
		{[]string{"sh", "-c", "echo not yet; echo really >&2; exit 2"}, `exec probe "sh -c echo not yet; echo really >&2; exit 2": exit status 2: not yet` + "\nreally"},
		{[]string{"loop-no-such-probe"}, `command "loop-no-such-probe" not found in PATH`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.cmd, " "), func(t *testing.T) {
			err := New(&model.Probe{Kind: model.ProbeExec, Cmd: tt.cmd}, dir, env).Check(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want ready", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestExec_Check_timeoutKillsGroup(t *testing.T) {
	p := &model.Probe{Kind: model.ProbeExec, Timeout: 200 * time.Millisecond,
		Cmd: []string{"sh", "-c", "sleep 100 & echo child=$!; sleep 100"}}
	began := time.Now()
	err := New(p, "", testEnv).Check(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Check = %v, want ErrTimeout", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Check took %v after a 200ms timeout", took)
	}
	m := regexp.MustCompile(`child=(\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not quote the output", err)
	}
	pid, _ := strconv.Atoi(m[1])
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived the probe timeout", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && !strings.HasPrefix(string(b[i+1:]), " Z")
}

func TestNew_unknownKind(t *testing.T) {
	err := check(&model.Probe{Kind: "grpc"})
	if err == nil || !strings.Contains(err.Error(), `unknown kind "grpc"`) {
		t.Errorf("Check = %v, want unknown kind error", err)
	}
}

// checkFunc is a Checker made of a function.
type checkFunc func(context.Context) error

func (f checkFunc) Check(ctx context.Context) error { return f(ctx) }

var _ Checker = checkFunc(nil)

// An HTTP check within a traced change carries its span as a W3C
// traceparent; without one it sends none.
func TestHTTP_Check_traceparent(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer srv.Close()
	c := New(&model.Probe{Kind: model.ProbeHTTP, URL: srv.URL}, "", testEnv)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h != "" {
		t.Errorf("traceparent %q without a trace, want none", h)
	}
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, sp := tp.Tracer("test").Start(context.Background(), "ready")
	defer sp.End()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	sc := sp.SpanContext()
	if h, want := <-got, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01"; h != want {
		t.Errorf("traceparent %q, want %q (the ready span)", h, want)
	}
}
