package daemon

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/telemetry"
)

// otlpSink is a real HTTP endpoint that keeps the OTLP posts it gets,
// answering status.
type otlpSink struct {
	status int
	mu     sync.Mutex
	bodies [][]byte
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	w.WriteHeader(s.status)
}

// seen reports whether some post holds every one of want.
func (s *otlpSink) seen(want ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bodies {
		all := true
		for _, w := range want {
			all = all && bytes.Contains(b, []byte(w))
		}
		if all {
			return true
		}
	}
	return false
}

// gauge is the last value of the int gauge name in the posts (OTLP
// protobuf, as the exporter sends them).
func (s *otlpSink) gauge(name string) (n int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bodies {
		var req colmetricpb.ExportMetricsServiceRequest
		if proto.Unmarshal(b, &req) != nil {
			continue
		}
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if g := m.GetGauge(); m.Name == name && g != nil {
						for _, dp := range g.DataPoints {
							n, ok = dp.GetAsInt(), true
						}
					}
				}
			}
		}
	}
	return n, ok
}

func (s *otlpSink) any(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bodies {
		if bytes.Contains(b, []byte(text)) {
			return true
		}
	}
	return false
}

// The recorder's rows, feedback answers and the projects' policy
// exceptions reach the OTLP endpoint, names hashed; /v1/stats says where
// the export goes.
func TestTelemetry_Exports(t *testing.T) {
	sink := &otlpSink{status: http.StatusOK}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	home := tempHome(t)
	d := &Daemon{Home: home, Version: "test", Telemetry: telemetry.Config{Endpoint: srv.URL, Interval: 100 * time.Millisecond}}
	c := startWith(t, d)
	dir := filepath.Join(t.TempDir(), "telemetryproj")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lf := statsLoopfile + `policy_exception("base_images", reason = "the legacy image until Q3")` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Loopfile"), []byte(lf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := up(t, c, filepath.Join(dir, "Loopfile"))
	if p.Name != "telemetryproj" {
		t.Fatalf("project name %q, want telemetryproj", p.Name)
	}
	if _, err := c.Feedback(context.Background(), 8, "nice"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "runs, a passive answer and the policy gauge in one export", func() bool {
		return sink.seen("loop.runs", "loop.feedback.answers", "passive", "loop.policy.exceptions")
	})
	if n, ok := sink.gauge("loop.policy.exceptions"); !ok || n != 1 {
		t.Errorf("loop.policy.exceptions = %d (found: %v), want 1: the project's one policy_exception()", n, ok)
	}
	if sink.any(p.Name) || sink.any("nice") || sink.any("sleep") {
		t.Errorf("an export carries the project name %q, the comment or a command", p.Name)
	}
	st, err := c.Stats(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Telemetry == nil || st.Telemetry.Endpoint != srv.URL+"/v1/metrics" || st.Telemetry.Errors != 0 {
		t.Errorf("stats telemetry = %+v, want %s/v1/metrics without errors", st.Telemetry, srv.URL)
	}
}

// A failing endpoint is counted and shown; loopd serves on.
func TestTelemetry_FailingEndpoint(t *testing.T) {
	sink := &otlpSink{status: http.StatusInternalServerError}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	d := &Daemon{Home: tempHome(t), Version: "test", Telemetry: telemetry.Config{Endpoint: srv.URL, Interval: 100 * time.Millisecond}}
	c := startWith(t, d)
	if _, err := c.Feedback(context.Background(), 10, ""); err != nil {
		t.Fatalf("feedback with a failing telemetry endpoint: %v", err)
	}
	pollStats(t, c, func(st api.Stats) bool {
		return st.Telemetry != nil && st.Telemetry.Errors >= 2 && st.Telemetry.LastError != ""
	})
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// startWith runs d until the test ends and returns its client.
func startWith(t *testing.T, d *Daemon) *api.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	c := api.NewClient(loophome.Socket(d.Home))
	waitUntil(t, "the daemon", func() bool { _, err := c.Version(context.Background()); return err == nil })
	return c
}
