//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// portalEnv is the environment of a daemon whose HTTP listener takes a
// free port, so parallel daemons do not fight over the default one.
var portalEnv = []string{"LOOP_HTTP_ADDR=127.0.0.1:0"}

// upPortal starts a project with one service that logs a few lines per
// start, on a daemon with its own HTTP listener.
func upPortal(t *testing.T, name string) *loopEnv {
	t.Helper()
	e := newEnv(t, name)
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service(
    "web",
    cmd = %s,
    env = {"PORT": "%d"},
    readiness = http_probe("http://127.0.0.1:%d/"),
    ports = [%d],
)
`, serverCmd(), port, port, port))
	if r := e.loopWith(portalEnv, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	return e
}

// loginURL is `loop open --print`: a one-time login link.
func (e *loopEnv) loginURL() string {
	e.t.Helper()
	r := e.mustLoop("open", "--print")
	u := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.Contains(u, "/login?code=") {
		e.t.Fatalf("loop open --print: %q, want http://127.0.0.1:PORT/login?code=...", u)
	}
	return u
}

// chromium finds the browser, or skips (fails under LOOP_REQUIRE_BROWSER=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LOOP_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium (LOOP_REQUIRE_BROWSER=1): run scripts/setup-browser.sh")
	}
	t.Skip("no Chromium here: install it (scripts/setup-browser.sh) to run the browser tests")
	return ""
}

// browser starts headless Chromium and returns a tab; JavaScript errors of
// the page fail the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	dir, err := os.MkdirTemp("", "loop-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		// Chromium's helpers may still write there for a moment.
		poll(5*time.Second, func() bool { return os.RemoveAll(dir) == nil })
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	var mu sync.Mutex
	var thrown []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if ex, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := ex.ExceptionDetails.Text
			if ex.ExceptionDetails.Exception != nil {
				msg += " " + ex.ExceptionDetails.Exception.Description
			}
			mu.Lock()
			thrown = append(thrown, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range thrown {
			t.Errorf("JavaScript exception in the portal: %s", m)
		}
	})
	return ctx
}

// artifacts is where screenshots go: $LOOP_TEST_ARTIFACTS/<test> (CI keeps
// it), else a temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if d := os.Getenv("LOOP_TEST_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, t.Name())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// step runs browser actions with a deadline, failing the test with what
// the page shows.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText ?? ''`))
		t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, text)
	}
}

// screenshot saves the whole page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// until waits for a JavaScript predicate to hold.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(25*time.Second))
}

// click clicks the first element css selects, as soon as there is one,
// in one script turn: the portal redraws on events, so a node found by one
// DevTools call may be gone by the next (chromedp.Click's "Could not find
// node with given id").
func click(css string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, css))
}

// pick sets the value of the select css selects and fires its change
// event, in one script turn (as click: a redraw between two DevTools calls
// leaves the second one a stale node). The option must exist.
func pick(css, value string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		if (!e || ![...e.options].some(o => o.value === %q)) return false;
		e.value = %q; e.dispatchEvent(new Event('change')); return true })()`, css, value, value))
}

// logCount counts the lines of the log view that contain s.
func logCount(s string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#log li:not([hidden]) .text')].filter(e => e.textContent.includes(%q)).length`, s)
}

// TestPortal_Browser drives the portal in real headless Chromium: log in
// with a one-time link, watch the service turn ready, restart it and see
// its new log line, search the logs, open the catalog and metrics pages.
func TestPortal_Browser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	shots := artifacts(t)
	t.Logf("screenshots: %s", shots)
	e := upPortal(t, "portal")
	login := e.loginURL()

	row := `tr[data-key="portal/web"]`
	step(t, ctx, "log in and see the project", chromedp.Navigate(login), chromedp.WaitVisible(chromedp.CSS(row)))
	step(t, ctx, "watch web turn ready", until(`document.querySelector('`+row+` [data-field=state]')?.textContent === 'ready'`))
	screenshot(t, ctx, shots, "1-overview")

	step(t, ctx, "open the resource", click(row+` th a`), chromedp.WaitVisible(chromedp.CSS(`#log`)))
	step(t, ctx, "see the first start in the followed logs", until(logCount("server ready to serve")+` >= 1`))
	const historyRows = `document.querySelectorAll('#history tr').length`
	step(t, ctx, "see the first start in the history", until(historyRows+` >= 2`))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](historyRows))
	if err != nil {
		t.Fatal(err)
	}
	before := e.resource("web").Pid
	step(t, ctx, "click restart", click(`button[data-action=restart]`))
	step(t, ctx, "see the restart's new log line", until(logCount("server ready to serve")+` >= 2`))
	step(t, ctx, "see the state return to ready", until(`document.querySelector('dl[data-key="portal/web"] [data-field=state]')?.textContent === 'ready'`))
	step(t, ctx, "see the restart in the history without a reload", until(fmt.Sprintf(historyRows+` > %d`, rows)))
	if after := e.resource("web").Pid; after == before {
		t.Errorf("web: pid %d after clicking restart, want a new process", after)
	}
	screenshot(t, ctx, shots, "2-resource-logs")

	step(t, ctx, "search the logs", chromedp.SendKeys(chromedp.CSS(`#log-grep`), "listening on"),
		until(`(() => { const ls = [...document.querySelectorAll('#log .text')].map(e => e.textContent);
			return ls.length >= 2 && ls.every(t => t.includes('listening on')); })()`))
	screenshot(t, ctx, shots, "3-log-search")

	step(t, ctx, "filter the loop stream", pick(`#log-stream`, "loop"),
		until(`[...document.querySelectorAll('#log li')].every(li => li.hidden || li.dataset.stream === 'loop')`))

	step(t, ctx, "open the catalog", click(`nav a[data-nav=catalog]`),
		until(`document.querySelector('main h2')?.textContent === 'Catalog' && document.querySelector('main section > :not(h2)') !== null`))
	screenshot(t, ctx, shots, "4-catalog")

	step(t, ctx, "open the metrics", click(`nav a[data-nav=metrics]`),
		until(`document.querySelector('main h2')?.textContent === 'Metrics' && document.querySelector('#fb-score') !== null`))
	screenshot(t, ctx, shots, "5-metrics")
}

// TestPortal_Security checks the listener's guard as a browser meets it:
// tokens, login links, Host and Origin, and the cookie's attributes.
func TestPortal_Security(t *testing.T) {
	t.Parallel()
	e := upPortal(t, "guarded")
	b, err := os.ReadFile(filepath.Join(e.home, "http.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ URL, Token string }
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, url string, mod func(*http.Request)) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if mod != nil {
			mod(req)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	login := e.loginURL()
	resp := send("GET", login, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET the login link: status %d, want 303", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "loop_token" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("the login link set no loop_token cookie: %q", resp.Header["Set-Cookie"])
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %q: want HttpOnly and SameSite=Strict", resp.Header.Get("Set-Cookie"))
	}
	withCookie := func(r *http.Request) { r.AddCookie(cookie) }
	restart := info.URL + "/v1/projects/guarded/resources/web/restart"
	tests := []struct {
		name, method, url string
		mod               func(*http.Request)
		want              int
	}{
		{"the portal without a token", "GET", info.URL + "/", nil, http.StatusUnauthorized},
		{"the API without a token", "GET", info.URL + "/v1/projects", nil, http.StatusUnauthorized},
		{"a used login link", "GET", login, nil, http.StatusUnauthorized},
		{"a made-up login code", "GET", info.URL + "/login?code=" + strings.Repeat("0", 64), nil, http.StatusUnauthorized},
		{"the portal with the cookie", "GET", info.URL + "/", withCookie, http.StatusOK},
		{"a forged Host", "GET", info.URL + "/", func(r *http.Request) { withCookie(r); r.Host = "rebind.example:" + r.URL.Port() }, http.StatusForbidden},
		{"a forged Host on the login path", "GET", e.loginURL(), func(r *http.Request) { r.Host = "rebind.example:" + r.URL.Port() }, http.StatusForbidden},
		{"a cross-origin POST", "POST", restart, func(r *http.Request) { withCookie(r); r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"a same-origin POST", "POST", restart, func(r *http.Request) { withCookie(r); r.Header.Set("Origin", info.URL) }, http.StatusOK},
	}
	for _, tt := range tests {
		if got := send(tt.method, tt.url, tt.mod).StatusCode; got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestPortal_LabelFilter: the projects view shows each resource's labels;
// clicking one, or picking it in the Label filter, keeps the resources
// that have it, and the filter clears.
func TestPortal_LabelFilter(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newEnv(t, "tags")
	e.write("Loopfile", `
service("db", cmd = "exec sleep 1000", deps = [], labels = ["backend", "data"])
service("api", cmd = "exec sleep 1000", deps = [], labels = ["backend"])
service("web", cmd = "exec sleep 1000", deps = [], labels = ["frontend"])
service("tool", cmd = "exec sleep 1000", deps = [])
`)
	if r := e.loopWith(portalEnv, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	e.settled()
	const shown = `[...document.querySelectorAll('tr[data-key]')].map(tr => tr.dataset.key).join(' ')`
	step(t, ctx, "log in and see every resource", chromedp.Navigate(e.loginURL()),
		until(shown+` === 'tags/db tags/api tags/web tags/tool'`))
	step(t, ctx, "see db's labels", until(`[...document.querySelectorAll('tr[data-key="tags/db"] a.label')].map(a => a.textContent).join() === 'backend,data'`))
	step(t, ctx, "click the label backend", click(`tr[data-key="tags/api"] a.label[data-label=backend]`),
		until(shown+` === 'tags/db tags/api' && document.querySelector('#label-filter').value === 'backend'`))
	step(t, ctx, "pick frontend in the filter", pick(`#label-filter`, "frontend"),
		until(shown+` === 'tags/web'`))
	step(t, ctx, "clear the filter", click(`#label-clear`),
		until(shown+` === 'tags/db tags/api tags/web tags/tool'`))
	step(t, ctx, "see the labels of a resource", click(`tr[data-key="tags/db"] th a`),
		until(`[...document.querySelectorAll('dl.facts a.label')].map(a => a.textContent).join() === 'backend,data'`))
	screenshot(t, ctx, artifacts(t), "resource-labels")
}
