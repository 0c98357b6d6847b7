//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/store"
	"github.com/loopdev/loop/internal/telemetry"
)

// requirePrometheus returns the Prometheus server binary
// scripts/setup-prometheus.sh caches ($LOOP_PROMETHEUS overrides), or
// skips without it unless CI requires it.
func requirePrometheus(t *testing.T) string {
	t.Helper()
	p := os.Getenv("LOOP_PROMETHEUS")
	if p == "" {
		p = "/var/cache/loop-prometheus/bin/prometheus"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("no Prometheus at %s (LOOP_REQUIRE_DOCKER=1): run scripts/setup-prometheus.sh", p)
		}
		t.Skipf("no Prometheus at %s: scripts/setup-prometheus.sh builds it", p)
	}
	return p
}

// prometheus is a real Prometheus server with its OTLP receiver on.
type prometheus struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT
}

// startPrometheus runs Prometheus on a free port with temporary storage
// until the test ends, and waits for it to be ready.
func startPrometheus(t *testing.T) *prometheus {
	t.Helper()
	exe := requirePrometheus(t)
	dir := t.TempDir()
	// The default OTLP translation: dots to underscores, unit and _total
	// suffixes; service.name and service.instance.id become job and
	// instance, the other resource attributes go to target_info.
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--web.enable-otlp-receiver")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &prometheus{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	t0 := time.Now()
	if !poll(60*time.Second, func() bool {
		resp, err := httpClient.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("prometheus: /-/ready did not answer 200 within 60s")
	}
	t.Logf("prometheus ready at %s in %s", p.base, time.Since(t0).Round(time.Millisecond))
	return p
}

// sample is one series of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

// query runs a PromQL instant query through the HTTP API.
func (p *prometheus) query(q string) ([]sample, error) {
	resp, err := httpClient.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	return r.Data.Result, nil
}

// await polls q until its first series' value is at least min, and
// returns the result (logged, for the record of what Prometheus holds).
func (p *prometheus) await(q string, min float64) []sample {
	p.t.Helper()
	var got []sample
	var err error
	if !poll(60*time.Second, func() bool {
		got, err = p.query(q)
		return err == nil && len(got) > 0 && got[0].value() >= min
	}) {
		p.t.Fatalf("prometheus: %s never reached %g within 60s: %+v, %v", q, min, got, err)
	}
	b, _ := json.Marshal(got)
	p.t.Logf("prometheus: %s => %s", q, b)
	return got
}

// TestTelemetry_ExportsToPrometheus runs loopd with its OTLP export aimed
// at a real Prometheus: a start, a change made live, a crash, a ship
// record and a feedback answer come back through PromQL, with project
// and resource names hashed; a second installation that allows names
// sends them in clear.
func TestTelemetry_ExportsToPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	endpoint := prom.base + "/api/v1/otlp"

	e := newEnv(t, "secretproj")
	e.env = append(e.env, "LOOP_TELEMETRY_ENDPOINT="+endpoint, "LOOP_TELEMETRY_INTERVAL=1s")
	port := freePort(t)
	e.write("www/content.txt", "v1")
	e.write("Loopfile", fmt.Sprintf(`service(
    "websvc",
    cmd = %s,
    env = {"PORT": "%d", "CONTENT_FILE": "www/content.txt"},
    deps = ["www"],
    readiness = http_probe("http://127.0.0.1:%d/"),
)
`, serverCmd(), port, port))
	e.up()

	// A change made live: a save-to-live sample.
	e.write("www/content.txt", "v2")
	e.settled()
	mustGet(t, port, "v2")
	if r := e.resource("websvc"); r.SaveToLive <= 0 {
		t.Fatalf("websvc: no save-to-live after the edit: %+v", r)
	}
	// A crash: the service killed from outside, restarted by loopd.
	before := e.resource("websvc").Pid
	if err := syscall.Kill(before, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !poll(60*time.Second, func() bool { r := e.resource("websvc"); return r.Pid != before && r.State == "ready" }) {
		t.Fatalf("websvc not ready again after its crash: %+v", e.resource("websvc"))
	}
	e.mustLoop("feedback", "9")
	// A ship record, written to the store as `loop ship` writes it.
	st, err := store.Open(filepath.Join(e.home, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.RecordShip(context.Background(), store.Ship{Project: "secretproj", Service: "websvc",
		CommitTime: now.Add(-90 * time.Minute), Started: now.Add(-time.Minute), Finished: now, Outcome: store.OutcomeShipped}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	b, err := os.ReadFile(filepath.Join(e.home, telemetry.IdentityFile))
	if err != nil {
		t.Fatalf("no installation identity: %v", err)
	}
	var id telemetry.Identity
	if err := json.Unmarshal(b, &id); err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`job="loopd",instance=%q,project=%q,resource=%q`, id.ID, id.Hash("secretproj"), id.Hash("websvc"))
	prom.await(`sum(loop_save_to_live_seconds_count{`+sel+`,kind="service"})`, 1)
	prom.await(`sum(loop_save_to_live_seconds_bucket{`+sel+`,le="30"})`, 1)
	prom.await(`sum(loop_runs_total{`+sel+`,kind="service"})`, 3) // start, update, restart after the crash
	prom.await(`sum(loop_failures_total{`+sel+`,outcome="crashed"})`, 1)
	prom.await(`sum(loop_restarts_total{`+sel+`})`, 1)
	prom.await(fmt.Sprintf(`sum(loop_time_to_first_ready_seconds_count{job="loopd",instance=%q})`, id.ID), 1)
	prom.await(`sum(loop_deploys_total{`+sel+`,outcome="shipped"})`, 1)
	prom.await(`sum(loop_lead_time_seconds_count{`+sel+`})`, 1)
	prom.await(fmt.Sprintf(`loop_feedback_answers_total{instance=%q,category="promoter"}`, id.ID), 1)
	prom.await(fmt.Sprintf(`loop_feedback_score_count{instance=%q}`, id.ID), 1)
	prom.await(fmt.Sprintf(`target_info{instance=%q,service_version!="",os_type="linux"}`, id.ID), 1)

	// No clear name in any label of any series this installation sent.
	all, err := prom.query(fmt.Sprintf(`{instance=%q}`, id.ID))
	if err != nil || len(all) == 0 {
		t.Fatalf("series of instance %s: %v, %v", id.ID, all, err)
	}
	for _, s := range all {
		for k, v := range s.Metric {
			if strings.Contains(v, "secretproj") || strings.Contains(v, "websvc") || strings.Contains(v, e.dir) {
				t.Errorf("series %s carries a clear name in %s=%q", s.Metric["__name__"], k, v)
			}
		}
	}
	t.Logf("prometheus holds %d series of installation %s", len(all), id.ID)

	r := e.mustLoop("doctor")
	if !strings.Contains(r.stdout, "telemetry: OTLP to "+endpoint+"/v1/metrics every 1s, project names hashed, installation "+id.ID) {
		t.Errorf("loop doctor does not describe the export:\n%s", r.stdout)
	}

	// Another installation, names allowed and an hour between exports:
	// what reaches Prometheus is what stopping loopd flushed.
	named := newEnv(t, "openproj")
	named.env = append(named.env, "LOOP_TELEMETRY_ENDPOINT="+endpoint, "LOOP_TELEMETRY_INTERVAL=1h", "LOOP_TELEMETRY_PROJECT_NAMES=1")
	named.write("Loopfile", `task("hello", "true")`+"\n")
	named.up()
	named.mustLoop("feedback", "3")
	named.mustLoop("daemon", "stop")
	prom.await(`sum(loop_runs_total{project="openproj",resource="hello",kind="task",run="task"})`, 1)
	prom.await(`sum(loop_feedback_answers_total{category="detractor"})`, 1)
}
