//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

// TestPolicy_UpShipAndConfig: the organisation's config file sets a
// default and three rules. A project that breaks the deny rule is refused
// with the hint; with policy_exception() it runs, with the warn rule's
// warning, and the exception shows in loop status, the store, the stats
// and /metrics; loop ship is refused by the catalog_fields deny; loop
// config --show-origin says where each value comes from.
func TestPolicy_UpShipAndConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "policy")
	org := filepath.Join(e.home, "org-config.yaml")
	writeTo(t, org, `# the platform team's defaults
watch:
  debounce: 40ms
slo:
  build_success: 0.9
policy:
  ship_registries: {level: warn, allow: [registry.corp]}
  test_tasks:
    level: deny
    require: [test]
  catalog_fields: {level: deny, require: [owner, lifecycle]}
`)
	port := freePort(t)
	loopfile := func(extra string) string {
		return fmt.Sprintf(`
service("web", cmd = %s, env = {"PORT": "%d"}, readiness = http_probe("http://127.0.0.1:%d/"))
ship("web", repository = "docker.io/acme/web", deploy_api = deploy_api("http://127.0.0.1:1/deploy"))
catalog(owner = "ana@example.com")
slo_targets(build_success = 0.8)
%s`, serverCmd(), port, port, extra)
	}
	e.write("Dockerfile", "FROM scratch\n")
	e.write("Loopfile", loopfile(""))

	// The deny: refused, with the call's position and the way out.
	r := e.loop("up", "-d")
	if r.code == 0 {
		t.Fatalf("loop up with a test_tasks deny: want a refusal, got %s", r)
	}
	for _, want := range []string{"policy test_tasks", `no task is named or labelled "test"`, `policy_exception("test_tasks"`, org, "nothing was started"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("loop up refusal lacks %q:\n%s", want, r)
		}
	}

	// Waived: the project runs; the warn rule and the waiver are warnings.
	e.write("Loopfile", loopfile(`policy_exception("test_tasks", reason = "no tests yet: PLAT-7")`+"\n"))
	r = e.mustLoop("up", "-d")
	for _, want := range []string{
		"warning: policy ship_registries (warn, " + org + ":7): Loopfile:3: ship(web): repository docker.io/acme/web is not in an allowed registry",
		"warning: policy test_tasks (deny, " + org + ":8)",
		"waived by policy_exception at Loopfile:6: no tests yet: PLAT-7",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("loop up lacks %q:\n%s", want, r)
		}
	}
	e.settled()
	mustGet(t, port, "ok\n")
	st := e.mustLoop("status").stdout
	if !strings.Contains(st, "policy exception test_tasks") || !strings.Contains(st, "no tests yet: PLAT-7") {
		t.Errorf("loop status does not show the exception:\n%s", st)
	}
	p := e.status()
	if len(p.PolicyExceptions) != 1 || p.PolicyExceptions[0].Rule != "test_tasks" || len(p.PolicyExceptions[0].Waives) != 1 {
		t.Errorf("status --json policy_exceptions = %+v, want test_tasks waiving one finding", p.PolicyExceptions)
	}

	// Recorded as a project event; in the stats and /metrics.
	var events []string
	if !poll(10*time.Second, func() bool {
		events = projectEvents(t, e, "policy")
		return strings.Contains(strings.Join(events, "\n"), "policy exception: test_tasks waived at Loopfile:6: no tests yet: PLAT-7")
	}) {
		t.Errorf("no policy exception event in the store: %q", events)
	}
	var stats api.Stats
	if err := json.Unmarshal([]byte(e.mustLoop("stats", "--json").stdout), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.PolicyExceptions) != 1 || stats.PolicyExceptions[0].Project != "policy" {
		t.Errorf("stats policy_exceptions = %+v", stats.PolicyExceptions)
	}
	if m := getMetrics(t, e); !strings.Contains(m, `loop_policy_exceptions{project="policy",rule="test_tasks"} 1`) {
		t.Errorf("/metrics lacks the exception:\n%s", m)
	}

	// loop ship: refused by catalog_fields before anything is built.
	r = e.loop("ship")
	if r.code == 0 {
		t.Fatalf("loop ship without catalog lifecycle: want a refusal, got %s", r)
	}
	for _, want := range []string{"refused by policy catalog_fields", "Loopfile:4: ship(web): catalog() lacks lifecycle", `policy_exception("catalog_fields"`} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("loop ship refusal lacks %q:\n%s", want, r)
		}
	}

	// loop config --show-origin: each value and where it comes from.
	r = e.loopWith([]string{"LOOP_SLO_AVAILABILITY=0.999"}, "config", "--show-origin")
	if r.code != 0 {
		t.Fatalf("loop config --show-origin: %s", r)
	}
	for _, want := range []string{
		`watch\.debounce +40ms +` + regexp.QuoteMeta(org) + `:3`,
		`watch\.max_wait +2s +default`,
		`feedback\.every +4w +default`,
		`slo\.build_success +0\.8 +Loopfile:5`,
		`slo\.availability +0\.999 +env LOOP_SLO_AVAILABILITY`,
		`policy\.catalog_fields +deny require \[owner, lifecycle\] +` + regexp.QuoteMeta(org) + `:11`,
		`exception: test_tasks at Loopfile:6: no tests yet: PLAT-7 \(waives 1\)`,
	} {
		if !regexp.MustCompile(`(?m)^\s*` + want).MatchString(r.stdout) {
			t.Errorf("loop config --show-origin lacks /%s/:\n%s", want, r.stdout)
		}
	}

	// A bad key in the user's file: loop config names the file, the line
	// and the valid keys.
	user := filepath.Join(e.home, "config.yaml")
	writeTo(t, user, "watch:\n  debounse: 10ms\n")
	r = e.loop("config")
	if r.code == 0 || !strings.Contains(r.stderr, user+":2") || !strings.Contains(r.stderr, "valid keys: debounce, max_wait, ignore") {
		t.Errorf("loop config with a misspelt key: %s", r)
	}
}

// projectEvents are the messages of a project's events in the store.
func projectEvents(t *testing.T, e *loopEnv, project string) []string {
	t.Helper()
	st, err := store.Open(filepath.Join(e.home, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(context.Background(), store.EventQuery{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind == api.EventProject {
			out = append(out, ev.Reason)
		}
	}
	return out
}

// getMetrics is GET /metrics on loopd's socket.
func getMetrics(t *testing.T, e *loopEnv) string {
	t.Helper()
	resp, err := e.socketHTTP().Get("http://loopd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPolicy_PortalListsExceptions: the portal's project banner lists the
// project's policy exceptions with their reasons.
func TestPolicy_PortalListsExceptions(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newEnv(t, "waived")
	writeTo(t, filepath.Join(e.home, "org-config.yaml"), "policy:\n  test_tasks: {level: deny, require: [test]}\n")
	e.write("Loopfile", `task("build", cmd = "true")
policy_exception("test_tasks", reason = "no tests yet: PLAT-7")
`)
	if r := e.loopWith(portalEnv, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	login := e.loginURL()
	item := `[data-exceptions="waived"] li[data-rule="test_tasks"]`
	step(t, ctx, "see the exception in the project's banner", chromedp.Navigate(login),
		until(`document.querySelector('`+item+`')?.textContent.includes('no tests yet: PLAT-7')`))
	screenshot(t, ctx, artifacts(t), "policy-exceptions")
}
