package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
)

// fastReadyProbes lets the harness's engine probe ready services every
// period instead of at most once per DefaultReadyProbePeriod.
func (h *harness) fastReadyProbes(period time.Duration) {
	h.t.Helper()
	err := h.e.call(context.Background(), func() error { h.e.cfg.ReadyProbePeriod = period; return nil })
	if err != nil {
		h.t.Fatal(err)
	}
}

// probedService is a service whose exec readiness probe passes while the
// file ok exists in the project directory and appends a line to count at
// every check.
func (h *harness) probedService(name string) (r *model.Resource, ok, count string) {
	ok, count = filepath.Join(h.dir, name+".ok"), filepath.Join(h.dir, name+".count")
	r = h.service(name, "exec sleep 100")
	r.Readiness = &model.Probe{Kind: model.ProbeExec, Period: 10 * time.Millisecond, Timeout: 5 * time.Second,
		Cmd: []string{"sh", "-c", `echo x >> "$1"; test -f "$2"`, "probe", count, ok}}
	return r, ok, count
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// until polls the resource until cond holds, or fails after 20s.
func (h *harness) until(name, what string, cond func(api.Resource) bool) api.Resource {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := h.resource(name)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %s (%s) after 20s; want %s", name, r.State, r.Reason, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checks(t *testing.T, count string) int {
	b, err := os.ReadFile(count)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "x")
}

// TestEngine_UnresponsiveAndBack: a ready service whose probe starts
// failing while its process runs becomes unresponsive (not restarted),
// counts as failed for a wait, and is ready again when the probe passes.
func TestEngine_UnresponsiveAndBack(t *testing.T) {
	h := newHarness(t)
	h.fastReadyProbes(10 * time.Millisecond)
	svc, ok, count := h.probedService("api")
	touch(t, ok)
	h.set(svc)
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Fatalf("outcome %s %+v, want ready", res.Outcome, res.Errors)
	}
	ready := h.resource("api")

	// The probe keeps running while the service is ready.
	n := checks(t, count)
	h.until("api", "more checks while ready", func(api.Resource) bool { return checks(t, count) >= n+UnresponsiveAfter })
	if r := h.resource("api"); r.State != api.StateReady {
		t.Fatalf("with a passing probe: %s (%s), want ready", r.State, r.Reason)
	}

	if err := os.Remove(ok); err != nil {
		t.Fatal(err)
	}
	r := h.until("api", "unresponsive", func(r api.Resource) bool { return r.State == api.StateUnresponsive })
	for _, want := range []string{"readiness probe", "checks failed", `exec probe "sh -c`, "loop restart api"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q: want it to contain %q", r.Reason, want)
		}
	}
	if r.Pid != ready.Pid || r.Restarts != 0 {
		t.Errorf("unresponsive: pid %d restarts %d, want the same process (pid %d), not restarted", r.Pid, r.Restarts, ready.Pid)
	}
	if len(r.Diagnostics) != 1 || r.Diagnostics[0].Severity != "warning" || !strings.Contains(r.Diagnostics[0].Message, "unresponsive") {
		t.Errorf("diagnostics %+v, want one warning saying it is unresponsive", r.Diagnostics)
	}
	res := h.wait()
	if res.Outcome != api.OutcomeFailed || len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Message, "unresponsive: ") {
		t.Errorf("wait: %s %+v, want failed with api unresponsive", res.Outcome, res.Errors)
	}

	touch(t, ok)
	r = h.until("api", "ready again", func(r api.Resource) bool { return r.State == api.StateReady })
	if !strings.Contains(r.Reason, "again") || r.Pid != ready.Pid || len(r.Diagnostics) != 0 {
		t.Errorf("back: %s (%s) pid %d diags %d, want ready again, same pid %d, no diagnostics", r.State, r.Reason, r.Pid, len(r.Diagnostics), ready.Pid)
	}
	if res := h.wait(); res.Outcome != api.OutcomeReady {
		t.Errorf("wait after recovery: %s %+v, want ready", res.Outcome, res.Errors)
	}
}

// TestEngine_ReadyProbeStopsWithService: the probe of a ready service ends
// when the service stops.
func TestEngine_ReadyProbeStopsWithService(t *testing.T) {
	h := newHarness(t)
	h.fastReadyProbes(10 * time.Millisecond)
	svc, ok, count := h.probedService("api")
	touch(t, ok)
	h.set(svc)
	h.wait()
	h.until("api", "probed while ready", func(api.Resource) bool { return checks(t, count) >= 3 })
	var done <-chan struct{}
	if err := h.e.call(context.Background(), func() error { done = h.e.res["api"].probeDone; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Disable(context.Background(), "api"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the ready service's probe still runs 20s after it was disabled")
	}
	var running bool
	h.e.call(context.Background(), func() error { running = h.e.res["api"].probeCancel != nil; return nil })
	if running {
		t.Error("a disabled resource has a probe")
	}
}

// TestEngine_UnresponsiveDependencySettles: a dependant that must restart
// while its dependency is unresponsive waits for it, and a wait reports
// failed instead of hanging.
func TestEngine_UnresponsiveDependencySettles(t *testing.T) {
	h := newHarness(t)
	h.fastReadyProbes(10 * time.Millisecond)
	db, ok, _ := h.probedService("db")
	touch(t, ok)
	h.set(db, h.service("api", "exec sleep 100", "db"))
	h.wait()
	os.Remove(ok)
	h.until("db", "unresponsive", func(r api.Resource) bool { return r.State == api.StateUnresponsive })
	if err := h.e.Restart(context.Background(), "api"); err != nil {
		t.Fatal(err)
	}
	res := h.wait()
	if res.Outcome != api.OutcomeFailed {
		t.Fatalf("outcome %s, want failed", res.Outcome)
	}
	if r := h.resource("api"); r.State != api.StatePending || !strings.Contains(r.Reason, "db (unresponsive)") {
		t.Errorf("api: %s (%s), want pending, waiting for db (unresponsive)", r.State, r.Reason)
	}
	touch(t, ok)
	h.until("api", "started once db answers again", func(r api.Resource) bool { return r.State == api.StateReady })
}
