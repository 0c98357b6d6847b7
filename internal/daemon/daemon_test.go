package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/sandbox"
	"github.com/loopdev/loop/internal/watch"
)

func TestMain(m *testing.M) {
	// The daemon re-executes its own binary as the reaper sidecar and as
	// the Loopfile evaluator.
	if len(os.Args) > 1 && os.Args[1] == process.ReaperArg {
		os.Exit(process.ReaperMain(os.Stdin))
	}
	if len(os.Args) > 1 && os.Args[1] == sandbox.Arg {
		os.Exit(sandbox.Main())
	}
	// loopd reads loop's config files at every evaluation: the machine's
	// must not leak into the tests.
	none := filepath.Join(os.TempDir(), "loop-daemon-test-no-config.yaml")
	os.Setenv("LOOP_ORG_CONFIG", none)
	os.Setenv("LOOP_CONFIG", none)
	os.Exit(m.Run())
}

// startDaemon runs an in-process loopd on a temp home and returns a client.
func startDaemon(t testing.TB) *api.Client {
	t.Helper()
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Home: home, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		os.RemoveAll(home)
	})
	c := api.NewClient(loophome.Socket(home))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Version(context.Background()); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeLoopfile(t testing.TB, src string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "Loopfile")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func up(t testing.TB, c *api.Client, loopfile string) *api.Project {
	t.Helper()
	p, err := c.Up(context.Background(), api.UpRequest{Loopfile: loopfile, Env: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Wait(context.Background(), p.Name, 30*time.Second)
	if err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait: %v %+v", err, res)
	}
	return p
}

func TestDaemon_SocketIsPrivate(t *testing.T) {
	c := startDaemon(t)
	fi, err := os.Stat(c.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("socket mode = %o, want 600", got)
	}
	di, _ := os.Stat(filepath.Dir(c.Socket))
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("state dir mode = %o, want 700", got)
	}
}

// A client that lost its stream resumes with ?after=SEQ and sees every
// later event exactly once, in order.
func TestDaemon_EventsResume(t *testing.T) {
	c := startDaemon(t)
	p := up(t, c, writeLoopfile(t, `service("a", cmd="exec sleep 1000")`+"\n"+`service("b", cmd="exec sleep 1000")`))
	ctx := context.Background()
	var first []api.Event
	collect := func(after uint64, n int) []api.Event {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var got []api.Event
		c.Events(cctx, p.Name, after, func(ev api.Event) error {
			got = append(got, ev)
			if len(got) == n {
				cancel()
			}
			return nil
		})
		return got
	}
	first = collect(0, 3)
	if len(first) < 3 {
		t.Fatalf("got %d events from the start, want >= 3", len(first))
	}
	// More events happen while "disconnected".
	for _, r := range []string{"a", "b"} {
		if err := c.Action(ctx, p.Name, r, "restart"); err != nil {
			t.Fatal(err)
		}
	}
	c.Wait(ctx, p.Name, 10*time.Second)
	after := first[len(first)-1].Seq
	rest := collect(after, 2)
	if len(rest) < 2 {
		t.Fatalf("resumed with %d events, want >= 2", len(rest))
	}
	prev := after
	for _, ev := range rest {
		if ev.Seq <= prev {
			t.Fatalf("event seq %d after %d: want strictly increasing after the resume point", ev.Seq, prev)
		}
		prev = ev.Seq
	}
}

func TestDaemon_UpErrorsHaveLocation(t *testing.T) {
	c := startDaemon(t)
	lf := writeLoopfile(t, "service(\"a\",\n    cmd=\"true\", bogus=1)\n")
	_, err := c.Up(context.Background(), api.UpRequest{Loopfile: lf, Env: os.Environ()})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Loopfile == nil {
		t.Fatalf("Up = %v; want a Loopfile error", err)
	}
	if se.Loopfile.Line != 2 || !strings.Contains(se.Loopfile.Message, "bogus") {
		t.Errorf("Loopfile error = %+v; want line 2 naming bogus", se.Loopfile)
	}
	if ps, _ := c.Projects(context.Background()); len(ps) != 0 {
		t.Errorf("a project with a broken Loopfile was registered: %+v", ps)
	}
}

// BenchmarkDaemon_Status50 measures the `loop status` round trip (client
// -> socket -> snapshot -> JSON -> client) with 50 resources.
func BenchmarkDaemon_Status50(b *testing.B) {
	c := startDaemon(b)
	var src strings.Builder
	for i := range 50 {
		fmt.Fprintf(&src, "service(\"s%02d\", cmd=\"exec sleep 1000\")\n", i)
	}
	p := up(b, c, writeLoopfile(b, src.String()))
	ctx := context.Background()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		got, err := c.Project(ctx, p.Name)
		if err != nil || len(got.Resources) != 50 {
			b.Fatalf("status: %v (%d resources)", err, len(got.Resources))
		}
		samples = append(samples, time.Since(start))
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
}

// The project's snapshot says which watcher backend runs, once it is
// ready: the one this platform's SystemBackend reports.
func TestDaemon_WatchStatusNamesBackend(t *testing.T) {
	c := startDaemon(t)
	p := up(t, c, writeLoopfile(t, `service("a", cmd="exec sleep 1000")`))
	var ws *api.WatchStatus
	deadline := time.Now().Add(30 * time.Second)
	for ws == nil || !ws.Ready {
		if time.Now().After(deadline) {
			t.Fatalf("watcher not ready after 30s: %+v", ws)
		}
		snap, err := c.Project(context.Background(), p.Name)
		if err != nil {
			t.Fatal(err)
		}
		ws = snap.Watch
		time.Sleep(10 * time.Millisecond)
	}
	if want := watch.SystemBackend().Name; ws.Backend != want || ws.Watches < 1 {
		t.Errorf("watch status %+v: want backend %q and at least one directory", ws, want)
	}
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDaemon_SnapshotSizes: a project's snapshot says its length and how
// many resources it holds (Loop-Resources), which the client sizes its
// buffers by; Selected decodes it whole.
func TestDaemon_SnapshotSizes(t *testing.T) {
	c := startDaemon(t)
	p := up(t, c, writeLoopfile(t, "for i in range(3):\n    task(\"t%d\" % i, cmd = [\"true\"])\n"))
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket)
	}}}
	resp, err := hc.Get("http://loopd/v1/projects/" + p.Name + "?resource=t1&resource=t2")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.ContentLength != int64(len(body)) || resp.Header.Get(api.ResourcesHeader) != "2" {
		t.Errorf("GET the project: Content-Length %d for %d bytes (%v), %s %q; want the body's length and 2",
			resp.ContentLength, len(body), err, api.ResourcesHeader, resp.Header.Get(api.ResourcesHeader))
	}
	got, err := c.Selected(context.Background(), p.Name, api.Selector{Resources: []string{"t1", "t2"}})
	if err != nil || len(got.Resources) != 2 || got.Resources[1].Name != "t2" {
		t.Errorf("Selected = %+v, %v; want t1 and t2", got, err)
	}
}
