package cli

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/loopdev/loop/api"
)

func TestApp_FindLoopfileSearchesUpward(t *testing.T) {
	root := t.TempDir()
	lf := filepath.Join(root, "Loopfile")
	if err := os.WriteFile(lf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	os.MkdirAll(deep, 0o755)
	t.Chdir(deep)
	got, err := (&App{}).FindLoopfile()
	if err != nil || got != lf {
		t.Fatalf("findLoopfile from %s = %q, %v; want %q", deep, got, err, lf)
	}
	t.Chdir(t.TempDir())
	if _, err := (&App{}).FindLoopfile(); err == nil || !strings.Contains(err.Error(), "-f PATH") {
		t.Errorf("findLoopfile without a Loopfile = %v; want an error saying what to do", err)
	}
	if _, err := (&App{Loopfile: "nope/Loopfile"}).FindLoopfile(); err == nil {
		t.Error("findLoopfile with a missing -f: want an error")
	}
}

func TestColorEnabled_NoColorAndPipes(t *testing.T) {
	var buf bytes.Buffer
	if colorEnabled(&buf) {
		t.Error("colour on a non-terminal writer")
	}
	t.Setenv("NO_COLOR", "")
	if colorEnabled(os.Stdout) {
		t.Error("colour with NO_COLOR set")
	}
}

func TestPrinter_Line(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf, false)
	p.line(api.LogLine{Resource: "api", Stream: "stdout", Text: "listening"})
	p.line(api.LogLine{Resource: "api", Stream: "loop", Text: "ready in 5ms"})
	p.line(api.LogLine{Resource: "", Stream: "loop", Text: "from print()"})
	want := "api      │ listening\napi      │ [loop] ready in 5ms\nLoopfile │ from print()\n"
	if got := buf.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Error("escape codes without colour")
	}
}

func TestSummaryLine(t *testing.T) {
	rs := []api.Resource{{State: api.StateReady}, {State: api.StateReady}, {State: api.StateFailed}, {State: api.StateStarting},
		{State: api.StateUnresponsive}, {State: "hibernating"}}
	if got, want := summaryLine(rs), "6 resources: 2 ready, 1 starting, 1 unresponsive, 1 failed, 1 hibernating"; got != want {
		t.Errorf("summaryLine = %q, want %q", got, want)
	}
}

func TestPrinter_stateText(t *testing.T) {
	p := NewPrinter(io.Discard, true)
	for _, s := range api.States {
		got := p.stateText(s)
		if !strings.Contains(got, s) {
			t.Errorf("stateText(%s) = %q", s, got)
		}
	}
	if got := p.stateText(api.StateUnresponsive); !strings.Contains(got, "\x1b["+Red+"m") {
		t.Errorf("stateText(unresponsive) = %q, want it red, like failed", got)
	}
}

func TestAgeAt(t *testing.T) {
	now := time.Now()
	tests := []struct {
		ago  time.Duration
		want string
	}{{5 * time.Second, "5s"}, {3 * time.Minute, "3m"}, {2 * time.Hour, "2h"}}
	for _, tt := range tests {
		if got := ageAt(now, now.Add(-tt.ago)); got != tt.want {
			t.Errorf("ageAt(%s ago) = %s, want %s", tt.ago, got, tt.want)
		}
	}
	if got := ageAt(time.Now(), time.Time{}); got != "-" {
		t.Errorf("ageAt(zero) = %s, want -", got)
	}
}

func TestPrintRoutes(t *testing.T) {
	routes := []api.Route{{Host: "api.localhost", Path: "/", Resource: "api", Port: 8080}, {Host: "app.localhost", Path: "/v1", Resource: "web", Port: 5173}}
	home := t.TempDir()
	var buf bytes.Buffer
	printRoutes(&buf, routes, home)
	if got := buf.String(); !strings.Contains(got, "the gateway is not running") || !strings.Contains(got, "http://api.localhost/ -> api:8080") {
		t.Errorf("without a gateway:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(home, "gateway.json"), []byte(`{"url":"http://127.0.0.1:7391","port":7391}`), 0o600); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	printRoutes(&buf, routes, home)
	want := "routes:\n  http://api.localhost:7391/ -> api:8080\n  http://app.localhost:7391/v1 -> web:5173\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestPrintStatus_row: every column of a row, as the table aligns them.
func TestPrintStatus_row(t *testing.T) {
	var out bytes.Buffer
	a := &App{Stdout: &out}
	a.printStatus(&statusView{Resources: []statusRow{
		{Name: "api", Kind: "service", State: api.StateReady, Since: time.Now().Add(-90 * time.Second), Pid: 4242, Restarts: 3,
			Labels: []string{"backend", "go"}, Reason: "probe ok", Pending: true},
		{Name: "migrate", Kind: "task", State: api.StateFailed, Reason: "exit 1"},
	}})
	want := "RESOURCE  KIND     STATE     FOR  PID   RESTARTS  LABELS      REASON\n" +
		"api       service  ● ready   1m   4242  3         backend,go  changes waiting for `loop trigger api`; probe ok\n" +
		"migrate   task     ✗ failed  -          0         -           exit 1\n"
	if got := out.String(); got != want {
		t.Errorf("printStatus printed\n%s\nwant\n%s", got, want)
	}
}

// TestColumns_asTabwriter: columns lays rows out as text/tabwriter (padding
// 2, spaces) does, with multi-byte and colour-coded cells, empty cells and
// rows of different lengths.
func TestColumns_asTabwriter(t *testing.T) {
	rows := []string{
		"RESOURCE\tKIND\tSTATE\tREASON",
		"api\tservice\t\x1b[32m● ready\x1b[0m\tprobe ok",
		"données-très-longues\ttask\t\x1b[31m✗ failed\x1b[0m\t",
		"\t\t\tlast only",
		"x\ty\t\x1b[33m○ pending\x1b[0m\tz\tone more",
	}
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
	var c columns
	for _, r := range rows {
		tw.Write([]byte(r + "\n"))
		c.row([]byte(r))
	}
	tw.Flush()
	var got bytes.Buffer
	w := bufio.NewWriter(&got)
	c.flush(w)
	w.Flush()
	if got.String() != want.String() {
		t.Errorf("columns wrote\n%q\ntabwriter writes\n%q", got.String(), want.String())
	}
}

// TestStatusView_fieldsOfAPI: every field `loop status` decodes has the
// name, type and JSON name of the api field it stands for, so the view
// never silently reads nothing.
func TestStatusView_fieldsOfAPI(t *testing.T) {
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[statusView](), reflect.TypeFor[api.Project]()},
		{reflect.TypeFor[statusRow](), reflect.TypeFor[api.Resource]()},
	} {
		view, full := pair[0], pair[1]
		for i := range view.NumField() {
			f := view.Field(i)
			g, ok := full.FieldByName(f.Name)
			tag, _, _ := strings.Cut(g.Tag.Get("json"), ",")
			if f.Name == "Resources" {
				ok = ok && g.Type == reflect.TypeFor[[]api.Resource]()
			} else {
				ok = ok && g.Type == f.Type
			}
			if !ok || tag != f.Tag.Get("json") {
				t.Errorf("%s.%s (%s, json %q): %s has %v (%s, json %q)", view.Name(), f.Name, f.Type, f.Tag.Get("json"), full.Name(), ok, g.Type, tag)
			}
		}
	}
}

// TestWatched_apply: an event of a shown resource updates its row in
// place; one the view cannot place asks for a new snapshot.
func TestWatched_apply(t *testing.T) {
	w := newWatched(&statusView{Seq: 3, Resources: []statusRow{{Name: "api", State: api.StateStarting}, {Name: "db", State: api.StateReady}}})
	if !w.apply(api.Event{Seq: 5, Resource: &api.Resource{Name: "api", State: api.StateReady, Pid: 7, Reason: "probe ok"}}) {
		t.Fatal("apply of a shown resource: want it applied")
	}
	if r := w.v.Resources[0]; r.State != api.StateReady || r.Pid != 7 || r.Reason != "probe ok" || w.v.Seq != 5 {
		t.Errorf("after apply: %+v, seq %d", r, w.v.Seq)
	}
	for _, ev := range []api.Event{
		{Kind: api.EventProject},
		{Resource: &api.Resource{Name: "new", State: api.StateReady}},
		{Resource: &api.Resource{Name: "db", State: api.StateStopped}},
	} {
		if w.apply(ev) {
			t.Errorf("apply(%+v) = true; want a new snapshot", ev)
		}
	}
}
