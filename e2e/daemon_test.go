//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

// killDaemon kills loopd with SIGKILL and waits until it is gone.
func (e *loopEnv) killDaemon() {
	e.t.Helper()
	pid := e.daemonPid()
	if v := e.mustLoop("version").stdout; !strings.Contains(v, fmt.Sprintf("pid %d)", pid)) {
		e.t.Fatalf("loop version does not name loopd pid %d from loopd.pid:\n%s", pid, v)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		e.t.Fatalf("kill -9 loopd %d: %v", pid, err)
	}
	if !poll(5*time.Second, func() bool { return !alive(pid) }) {
		e.t.Fatalf("loopd %d is alive 5s after SIGKILL", pid)
	}
}

// TestKilledDaemon_ServiceDies: when loopd is killed -9, its services die
// with it (Pdeathsig on each group leader, set by runtime/process from a
// locked OS thread), and the next `loop up` starts a new daemon that runs
// them again.
func TestKilledDaemon_ServiceDies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "killed")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("plain", cmd = %s, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	e.up()
	pgids := e.groupsOf("plain")

	e.killDaemon()
	var left map[int][]int
	if !poll(5*time.Second, func() bool { left = liveGroups(pgids); return len(left) == 0 }) {
		t.Errorf("5s after loopd was killed -9, its services are alive:\n%s", describeGroups(left))
	}

	e.up()
	mustGet(t, port, "ok\n")
	if r := e.resource("plain"); r.Pid == pgids[0] {
		t.Errorf("plain: pid %d after the daemon restart, want a new process", r.Pid)
	}
	if left := liveGroups(pgids); len(left) > 0 {
		t.Errorf("after a new `loop up`, the old groups are alive:\n%s", describeGroups(left))
	}
}

// TestKilledDaemon_GrandchildDies: a service's backgrounded grandchild
// must not outlive a killed loopd either. Pdeathsig reaches only the group
// leader; the reaper sidecar (runtime/process.StartReaper, started by
// daemon.Run) sees its pipe from loopd close and SIGKILLs every group.
func TestKilledDaemon_GrandchildDies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "orphans")
	plain, bg := freePort(t), freePort(t)
	e.write("Loopfile", twoServices(plain, bg))
	e.up()
	pgids := e.groupsOf("plain", "bg")

	e.killDaemon()
	var left map[int][]int
	if !poll(5*time.Second, func() bool { left = liveGroups(pgids); return len(left) == 0 }) {
		t.Errorf("5s after loopd was killed -9, processes of its services are alive:\n%s", describeGroups(left))
	}

	e.up()
	mustGet(t, plain, "ok\n")
	mustGet(t, bg, "ok\n")
}

// TestKilledDaemon_NextDaemonReaps: when the reaper sidecar is killed too,
// Pdeathsig still takes the group leaders down with loopd, and the next
// daemon kills the grandchildren left behind from its records
// (runtime/process.ReapOrphans, called by daemon.Run) before it serves.
func TestKilledDaemon_NextDaemonReaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "noreaper")
	plain, bg := freePort(t), freePort(t)
	e.write("Loopfile", twoServices(plain, bg))
	e.up()
	pgids := e.groupsOf("plain", "bg")
	leaders := []int{pgids[0], pgids[1]}

	rs := reapers(e.home)
	if len(rs) != 1 {
		t.Fatalf("want one reaper sidecar of loopd, got %s", describeProcs(rs))
	}
	if err := syscall.Kill(rs[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !poll(5*time.Second, func() bool { return !alive(rs[0]) }) {
		t.Fatalf("reaper %d alive 5s after SIGKILL", rs[0])
	}
	e.killDaemon()
	if !poll(5*time.Second, func() bool { return !alive(leaders[0]) && !alive(leaders[1]) }) {
		t.Errorf("5s after loopd was killed -9, service leaders are alive (Pdeathsig): %s", describeProcs(leaders))
	}
	if left := liveGroups(pgids); len(left) > 0 {
		t.Logf("without the reaper, left until the next daemon starts:\n%s", describeGroups(left))
	}

	e.up()
	var left map[int][]int
	if !poll(5*time.Second, func() bool { left = liveGroups(pgids); return len(left) == 0 }) {
		t.Errorf("after a new `loop up`, the killed daemon's process groups are alive:\n%s", describeGroups(left))
	}
	mustGet(t, plain, "ok\n")
	mustGet(t, bg, "ok\n")
}

// TestLogs_AfterDaemonRestart: `loop logs` reads a project's persisted
// logs from a new daemon, with --tail, --grep and --json.
func TestLogs_AfterDaemonRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "logs")
	port := freePort(t)
	e.write("content.txt", "hello")
	e.write("Loopfile", fmt.Sprintf(`
service("web", cmd = %s, env = {"PORT": "%d", "CONTENT_FILE": "content.txt"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	e.up()
	old := e.daemonPid()
	e.mustLoop("daemon", "stop")
	if alive(old) {
		t.Fatalf("loopd %d alive after `loop daemon stop`", old)
	}

	out := e.mustLoop("logs").stdout // starts a new daemon
	if e.daemonPid() == old {
		t.Fatalf("loop logs did not start a new daemon")
	}
	for _, want := range []string{"server content hello", "server ready to serve"} {
		if !containsLine(out, "web", want) {
			t.Errorf("loop logs: no line %q of web in:\n%s", want, out)
		}
	}

	if lines := nonEmpty(e.mustLoop("logs", "--tail", "1").stdout); len(lines) != 1 {
		t.Errorf("loop logs --tail 1: %d lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if lines := nonEmpty(e.mustLoop("logs", "--tail", "2", "web").stdout); len(lines) != 2 {
		t.Errorf("loop logs --tail 2 web: %d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}

	grep := nonEmpty(e.mustLoop("logs", "--grep", "content [a-z]+").stdout)
	if len(grep) != 1 || !strings.Contains(grep[0], "server content hello") {
		t.Errorf("loop logs --grep 'content [a-z]+': want the one content line, got:\n%s", strings.Join(grep, "\n"))
	}

	var seq uint64
	found := false
	for _, l := range nonEmpty(e.mustLoop("logs", "--json").stdout) {
		var ll api.LogLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("loop logs --json: line %q: %v", l, err)
		}
		if ll.Seq <= seq || ll.Time.IsZero() || ll.Resource == "" || ll.Stream == "" {
			t.Errorf("loop logs --json: line %+v after seq %d: want an increasing seq, a time, a resource and a stream", ll, seq)
		}
		seq = ll.Seq
		if ll.Resource == "web" && ll.Stream == "stdout" && ll.Text == "server ready to serve" {
			found = true
		}
	}
	if !found {
		t.Errorf("loop logs --json: no stdout line %q of web", "server ready to serve")
	}
}

// containsLine reports whether out has a line of resource that ends with text.
func containsLine(out, resource, text string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, resource+" ") && strings.HasSuffix(l, " "+text) {
			return true
		}
	}
	return false
}

func nonEmpty(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestAPI_EventsWaitVersion drives the daemon through the Go client: the
// version handshake, Wait after an action, and an event stream that
// resumes with `after` exactly where it left off.
func TestAPI_EventsWaitVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "api")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
task("count", cmd = "echo run >> runs.txt", deps = [])
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [],
        readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), port, port))
	e.up()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.client()

	v, err := c.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.API != api.Version || v.Pid != e.daemonPid() {
		t.Errorf("version: %+v, want API %s and pid %d", v, api.Version, e.daemonPid())
	}

	const name = "api" // the project directory's name
	p, err := c.Project(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	first := collect(ctx, t, c, name, 0, p.Seq)
	checkSeq(t, "events after=0", first, 1)

	// A live stream from here, and later a resumed one: both must be the
	// same events.
	last := first[len(first)-1].Seq
	live := make(chan []api.Event, 1)
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	ready := make(chan struct{})
	go func() {
		var evs []api.Event
		close(ready) // the stream starts after `last` whenever it connects
		c.Events(liveCtx, name, last, func(ev api.Event) error {
			evs = append(evs, ev)
			return nil
		})
		live <- evs
	}()
	<-ready

	web := e.resource("web")
	if err := c.Action(ctx, name, "count", "trigger"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Wait(ctx, name, 20*time.Second)
	if err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait after trigger: %+v, %v; want ready", res, err)
	}
	// Wait returned: the task has run again, no polling needed.
	b, err := os.ReadFile(filepath.Join(e.dir, "runs.txt"))
	if err != nil || strings.Count(string(b), "run\n") != 2 {
		t.Errorf("runs.txt = %q (%v) after trigger + wait, want 2 runs", b, err)
	}
	if err := c.Action(ctx, name, "web", "restart"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Wait(ctx, name, 20*time.Second); err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait after restart: %+v, %v; want ready", res, err)
	}
	if got := e.resource("web"); got.Pid == web.Pid || got.State != api.StateReady {
		t.Errorf("web after restart + wait: pid %d state %s, want a new pid (was %d), ready", got.Pid, got.State, web.Pid)
	}
	mustGet(t, port, "ok\n")

	p, err = c.Project(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	resumed := collect(ctx, t, c, name, last, p.Seq)
	checkSeq(t, fmt.Sprintf("events after=%d", last), resumed, last+1)
	var sawTask, sawWeb bool
	for _, ev := range resumed {
		if ev.Resource != nil && ev.Resource.State == api.StateReady {
			sawTask = sawTask || ev.Resource.Name == "count"
			sawWeb = sawWeb || ev.Resource.Name == "web"
		}
	}
	if !sawTask || !sawWeb {
		t.Errorf("resumed events: want count and web becoming ready again; got %s", seqs(resumed))
	}

	stopLive()
	got := <-live
	if len(got) < len(resumed) {
		t.Fatalf("live stream: %s, want at least %s", seqs(got), seqs(resumed))
	}
	for i := range resumed {
		if got[i].Seq != resumed[i].Seq || got[i].Kind != resumed[i].Kind {
			t.Fatalf("live stream %s differs from the resumed one %s", seqs(got), seqs(resumed))
		}
	}
}

// collect reads a project's events after `after` until one has seq >= upTo.
func collect(ctx context.Context, t *testing.T, c *api.Client, project string, after, upTo uint64) []api.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var evs []api.Event
	done := fmt.Errorf("done")
	err := c.Events(ctx, project, after, func(ev api.Event) error {
		evs = append(evs, ev)
		if ev.Seq >= upTo {
			return done
		}
		return nil
	})
	if err != done {
		t.Fatalf("events after %d up to %d: %v; got %s", after, upTo, err, seqs(evs))
	}
	return evs
}

// checkSeq checks that evs are numbered from, from+1, ...: no gap, no
// duplicate.
func checkSeq(t *testing.T, what string, evs []api.Event, from uint64) {
	t.Helper()
	for i, ev := range evs {
		if ev.Seq != from+uint64(i) {
			t.Fatalf("%s: %s, want consecutive sequence numbers from %d", what, seqs(evs), from)
		}
	}
}

func seqs(evs []api.Event) string {
	var parts []string
	for _, ev := range evs {
		s := fmt.Sprintf("%d:%s", ev.Seq, ev.Kind)
		if ev.Resource != nil {
			s += ":" + ev.Resource.Name + "=" + ev.Resource.State
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestLogs_AfterDaemonRestart_SameDirName: two projects whose directories
// share a base name (up as "proj" and "proj-2") each get their own logs
// back after a daemon restart.
func TestLogs_AfterDaemonRestart_SameDirName(t *testing.T) {
	t.Parallel()
	a := newEnv(t, "proj")
	b := &loopEnv{t: t, home: a.home, dir: filepath.Join(t.TempDir(), "proj")}
	for _, e := range []*loopEnv{a, b} {
		who := map[*loopEnv]string{a: "a", b: "b"}[e]
		e.write("Loopfile", fmt.Sprintf("task(%q, cmd = \"echo hello from %s\", deps = [])\n", "hello", who))
		e.up()
		if out := e.mustLoop("logs").stdout; !containsLine(out, "hello", "hello from "+who) {
			t.Fatalf("loop logs in %s before the restart: no line %q:\n%s", who, "hello from "+who, out)
		}
	}
	a.mustLoop("daemon", "stop")

	for _, e := range []*loopEnv{a, b} {
		who, other := "a", "b"
		if e == b {
			who, other = "b", "a"
		}
		out := e.mustLoop("logs").stdout
		if !containsLine(out, "hello", "hello from "+who) || strings.Contains(out, "hello from "+other) {
			t.Errorf("loop logs in project %s after a daemon restart: want its own lines (hello from %s), got:\n%s", who, who, out)
		}
	}
}
