//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// spanRow is a row of the portal's waterfall as the page draws it.
type spanRow struct {
	Name  string  `json:"name"`
	Depth int     `json:"depth"`
	Width float64 `json:"width"` // the bar's, in pixels
	Left  float64 `json:"left"`  // the bar's offset in its lane, in pixels
	Error bool    `json:"error"`
	Dur   string  `json:"dur"`
}

// waterfall reads the rows of the trace page's waterfall.
func waterfall(t *testing.T, ctx context.Context) []spanRow {
	t.Helper()
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('#waterfall tr.span-row')].map(tr => {
		const bar = tr.querySelector('.span-bar').getBoundingClientRect();
		const lane = tr.querySelector('.span-lane').getBoundingClientRect();
		return { name: tr.dataset.name, depth: Number(tr.dataset.depth), width: bar.width, left: bar.left - lane.left,
			error: tr.classList.contains('trace-error'), dur: tr.querySelector('.span-dur').textContent };
	}))`))
	if err != nil {
		t.Fatal(err)
	}
	var rows []spanRow
	if err := json.Unmarshal([]byte(js), &rows); err != nil {
		t.Fatalf("waterfall rows %q: %v", js, err)
	}
	return rows
}

// TestPortal_Traces: a resource's page lists its traces (a service's,
// sent with the OpenTelemetry SDK, and loopd's own save-to-live); a trace
// opens as a waterfall of nested spans with bars and durations, a span's
// attributes show on a click, and a log line that names a trace links to
// it.
func TestPortal_Traces(t *testing.T) {
	t.Parallel()
	svc, err := otelsvc()
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	shots := artifacts(t)
	e := newEnv(t, "ptraces")
	port := freePort(t)
	e.write("src/v.txt", "1")
	e.write("Loopfile", otelsvcLoopfile(svc, port))
	if r := e.loopWith(portalEnv, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	e.settled()

	id := tracedGet(t, port, "/hello?fail=1")

	listed := fmt.Sprintf(`#traces tr[data-trace="%s"]`, id)
	step(t, ctx, "log in and open the resource", chromedp.Navigate(e.loginURL()),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-key="ptraces/api"] th a`)),
		click(`tr[data-key="ptraces/api"] th a`),
		chromedp.WaitVisible(chromedp.CSS(`#traces`)))
	step(t, ctx, "see the service's trace listed, failed", until(fmt.Sprintf(
		`document.querySelector('%s th a')?.textContent === 'GET /hello' && document.querySelector('%s').textContent.includes('error')`, listed, listed)))
	screenshot(t, ctx, shots, "1-resource-traces")

	step(t, ctx, "open the trace", click(listed+` th a`),
		until(`document.querySelectorAll('#waterfall tr.span-row').length === 2`))
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`)); got != "#/trace/"+id {
		t.Errorf("the trace page is %q, want #/trace/%s", got, id)
	}
	rows := waterfall(t, ctx)
	if rows[0].Name != "GET /hello" || rows[0].Depth != 0 || rows[0].Error ||
		rows[1].Name != "query" || rows[1].Depth != 1 || !rows[1].Error {
		t.Errorf("waterfall: %+v; want GET /hello, and query under it, failed", rows)
	}
	for _, r := range rows {
		if r.Width < 2 || r.Dur == "" || r.Dur == "0" {
			t.Errorf("span %s: bar %.1fpx wide, duration %q; want a visible bar and its duration", r.Name, r.Width, r.Dur)
		}
	}
	step(t, ctx, "click the failed span", click(`#waterfall tr[data-name=query] button`),
		until(`(() => { const d = document.querySelector('#span-detail')?.textContent || '';
			return d.includes('db.system') && d.includes('sqlite') && d.includes('no such table'); })()`))
	screenshot(t, ctx, shots, "2-service-waterfall")

	step(t, ctx, "go back to the resource", click(`main a[href="#/p/ptraces/r/api"]`),
		chromedp.WaitVisible(chromedp.CSS(`#log`)))
	logLink := fmt.Sprintf(`#log a.trace-link[data-trace="%s"]`, id)
	step(t, ctx, "see the log line's trace link", chromedp.WaitVisible(chromedp.CSS(logLink)))
	step(t, ctx, "follow it to the same trace", click(logLink),
		until(fmt.Sprintf(`location.hash === '#/trace/%s' && document.querySelectorAll('#waterfall tr.span-row').length === 2`, id)))

	// A file change: loopd's own save-to-live trace of it.
	step(t, ctx, "go back to the resource again", click(`main a[href="#/p/ptraces/r/api"]`),
		chromedp.WaitVisible(chromedp.CSS(`#traces`)))
	e.write("src/v.txt", "2")
	e.settled()
	// The readiness probe carries the "ready" span as a traceparent, so
	// the service's own span of it lands in loopd's trace: one waterfall
	// of both services.
	const stl = `[...document.querySelectorAll('#traces tr[data-trace] th a')].find(a => a.textContent === 'save-to-live')`
	step(t, ctx, "see the save-to-live trace listed without a reload", until(stl+` !== undefined`))
	step(t, ctx, "open it", chromedp.Evaluate[chromedp.Void](stl+`.click()`),
		until(`document.querySelector('#waterfall tr.span-row[data-name=ready]') !== null`))
	rows = waterfall(t, ctx)
	depth := map[string]int{}
	for _, r := range rows {
		depth[r.Name] = r.Depth
		if r.Width < 2 {
			t.Errorf("span %s: bar %.1fpx wide, want a visible bar", r.Name, r.Width)
		}
	}
	if d, ok := depth["GET /healthz"]; !ok || d != 2 {
		t.Errorf("waterfall %+v: want the service's GET /healthz under ready (depth 2)", rows)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#waterfall tr[data-name="GET /healthz"] .span-svc').textContent`)); got != "api" {
		t.Errorf("the service's span shows service %q, want api", got)
	}
	if rows[0].Name != "save-to-live" || rows[0].Depth != 0 || rows[0].Error {
		t.Errorf("the first row: %+v, want the save-to-live root", rows[0])
	}
	for _, name := range []string{"watch", "stop", "start", "ready"} { // loopd's steps
		if d, ok := depth[name]; !ok || d != 1 {
			t.Errorf("waterfall %+v: want %s under save-to-live (depth 1)", rows, name)
		}
	}
	if len(rows) > 1 && rows[1].Name != "watch" {
		t.Errorf("waterfall %+v: want watch, the first step, right under the root", rows)
	}
	if ready := rows[slices.IndexFunc(rows, func(r spanRow) bool { return r.Name == "ready" })]; ready.Left <= rows[1].Left {
		t.Errorf("waterfall %+v: ready's bar starts no later than watch's", rows)
	}
	step(t, ctx, "click the root", click(`#waterfall tr[data-name=save-to-live] button`),
		until(`(document.querySelector('#span-detail')?.textContent || '').includes('src/v.txt changed')`))
	screenshot(t, ctx, shots, "3-save-to-live-waterfall")
}
