package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

// byOS is unix, or windows on Windows: a local() script in the syntax of
// the platform's shell (shellCommand), a path, a message.
func byOS(unix, windows string) string {
	if runtime.GOOS == "windows" {
		return windows
	}
	return unix
}

// hostPath is the absolute host path p, written with "/" as on Unix, on
// this OS: as is on Unix; on drive C: on Windows, where "/etc/hosts" is not
// absolute. Put it in a Loopfile with strconv.Quote.
func hostPath(p string) string { return byOS(p, `C:`+filepath.FromSlash(p)) }

// fixture writes files (path relative to a temp dir -> contents; a path
// ending in "/" makes a directory) and evaluates the "Loopfile" among them.
func fixture(t *testing.T, files map[string]string, opts Options) (*model.Project, string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=" + os.Getenv("PATH")}
	}
	p, err := Load(context.Background(), filepath.Join(dir, "Loopfile"), opts)
	return p, dir, err
}

// mustLoad is fixture for Loopfiles that must evaluate.
func mustLoad(t *testing.T, files map[string]string) (*model.Project, string) {
	t.Helper()
	p, dir, err := fixture(t, files, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p, dir
}

func TestLoad_project(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{"Loopfile": `task("gen", "make")`})
	if p.Dir != dir || p.Name != filepath.Base(dir) || p.Loopfile != filepath.Join(dir, "Loopfile") {
		t.Errorf("got Dir %q Name %q Loopfile %q, want %q, %q, %q", p.Dir, p.Name, p.Loopfile,
			dir, filepath.Base(dir), filepath.Join(dir, "Loopfile"))
	}
	if got, want := p.Files, []string{filepath.Join(dir, "Loopfile")}; !slices.Equal(got, want) {
		t.Errorf("got Files %q, want %q", got, want)
	}
	want := model.WatchSettings{Debounce: model.DefaultDebounce, MaxWait: model.DefaultMaxWait}
	if !reflect.DeepEqual(p.Watch, want) {
		t.Errorf("got Watch %+v, want %+v", p.Watch, want)
	}
}

func TestLoad_serviceDefaults(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{"Loopfile": "\nservice('api', 'go run .')\n"})
	got := p.Resource("api")
	want := &model.Resource{
		Name:        "api",
		Kind:        model.KindService,
		Cmd:         []string{"sh", "-c", "go run ."},
		Dir:         dir,
		Deps:        []string{dir},
		Trigger:     model.TriggerAuto,
		AutoStart:   true,
		StopSignal:  "SIGTERM",
		StopTimeout: 10 * time.Second,
		Restart:     model.RestartOnChange,
		Pos:         model.Position{File: filepath.Join(dir, "Loopfile"), Line: 2, Col: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoad_serviceAllArgs(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"api/": "",
		"Loopfile": `
task("db-migrate", "true")
service(
    name = "api",
    cmd = ["go", "run", "./cmd/api"],
    dir = "api",
    env = {"PORT": "8080"},
    deps = ["api", "go.mod"],
    ignore = ["*.tmp"],
    readiness = http_probe("http://localhost:8080/healthz", period = "50ms", timeout = 2),
    resource_deps = ["db-migrate"],
    ports = [8080, 9090],
    links = ["http://localhost:8080", link("http://localhost:9090", name = "metrics")],
    labels = ["backend"],
    trigger = "manual",
    auto_start = False,
    stop_signal = "int",
    stop_timeout = 2.5,
    restart = "never",
)
`})
	got := p.Resource("api")
	want := &model.Resource{
		Name:         "api",
		Kind:         model.KindService,
		Cmd:          []string{"go", "run", "./cmd/api"},
		Dir:          filepath.Join(dir, "api"),
		Env:          map[string]string{"PORT": "8080"},
		Deps:         []string{filepath.Join(dir, "api"), filepath.Join(dir, "go.mod")},
		Ignore:       []string{"*.tmp"},
		ResourceDeps: []string{"db-migrate"},
		Readiness: &model.Probe{Kind: model.ProbeHTTP, URL: "http://localhost:8080/healthz",
			Period: 50 * time.Millisecond, Timeout: 2 * time.Second},
		Ports:       []int{8080, 9090},
		Links:       []model.Link{{URL: "http://localhost:8080"}, {URL: "http://localhost:9090", Name: "metrics"}},
		Labels:      []string{"backend"},
		Trigger:     model.TriggerManual,
		AutoStart:   false,
		StopSignal:  "SIGINT",
		StopTimeout: 2500 * time.Millisecond,
		Restart:     model.RestartNever,
		Pos:         model.Position{File: filepath.Join(dir, "Loopfile"), Line: 3, Col: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if got, want := len(p.Resources), 2; got != want {
		t.Errorf("got %d resources, want %d", got, want)
	}
}

func TestLoad_task(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"web/": "",
		"Loopfile": `name = task("gen", ["make", "gen"], dir = "web", env = {"A": "b"}, labels = ["build"], trigger = "manual", auto_start = False)
service("web", "npm start", dir = "web", resource_deps = [name])
`})
	got := p.Resource("gen")
	want := &model.Resource{
		Name:        "gen",
		Kind:        model.KindTask,
		Cmd:         []string{"make", "gen"},
		Dir:         filepath.Join(dir, "web"),
		Env:         map[string]string{"A": "b"},
		Deps:        []string{filepath.Join(dir, "web")},
		Labels:      []string{"build"},
		Trigger:     model.TriggerManual,
		AutoStart:   false,
		StopSignal:  "SIGTERM",
		StopTimeout: 10 * time.Second,
		Pos:         model.Position{File: filepath.Join(dir, "Loopfile"), Line: 1, Col: 8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if got, want := p.Resource("web").ResourceDeps, []string{"gen"}; !slices.Equal(got, want) {
		t.Errorf("got web resource_deps %q, want %q (task() returns its name)", got, want)
	}
}

func TestLoad_values(t *testing.T) {
	tests := []struct {
		name string
		args string // extra service() arguments
		get  func(r *model.Resource) any
		want any
	}{
		{"signal without SIG", `stop_signal = "hup"`, func(r *model.Resource) any { return r.StopSignal }, "SIGHUP"},
		{"signal canonical", `stop_signal = "SIGKILL"`, func(r *model.Resource) any { return r.StopSignal }, "SIGKILL"},
		{"duration string", `stop_timeout = "1m30s"`, func(r *model.Resource) any { return r.StopTimeout }, 90 * time.Second},
		{"duration int", `stop_timeout = 3`, func(r *model.Resource) any { return r.StopTimeout }, 3 * time.Second},
		{"duration zero", `stop_timeout = 0`, func(r *model.Resource) any { return r.StopTimeout }, time.Duration(0)},
		{"empty env is nil", `env = {}`, func(r *model.Resource) any { return r.Env }, map[string]string(nil)},
		{"empty deps watch nothing", `deps = []`, func(r *model.Resource) any { return r.Deps }, []string(nil)},
		{"absolute dep", `deps = [` + strconv.Quote(hostPath("/etc/hosts")) + `]`, func(r *model.Resource) any { return r.Deps }, []string{hostPath("/etc/hosts")}},
		{"tuple labels", `labels = ("a", "b")`, func(r *model.Resource) any { return r.Labels }, []string{"a", "b"}},
		{"None is default", `trigger = None`, func(r *model.Resource) any { return r.Trigger }, model.TriggerAuto},
		{"tcp probe", `readiness = tcp_probe("localhost:5432")`, func(r *model.Resource) any { return *r.Readiness },
			model.Probe{Kind: model.ProbeTCP, Addr: "localhost:5432", Period: model.DefaultProbePeriod, Timeout: model.DefaultProbeTimeout}},
		{"exec probe string", `readiness = exec_probe("pg_isready", period = "1s", timeout = "3s")`, func(r *model.Resource) any { return *r.Readiness },
			model.Probe{Kind: model.ProbeExec, Cmd: []string{"sh", "-c", "pg_isready"}, Period: time.Second, Timeout: 3 * time.Second}},
		{"exec probe argv", `readiness = exec_probe(["pg_isready", "-q"])`, func(r *model.Resource) any { return r.Readiness.Cmd },
			[]string{"pg_isready", "-q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := mustLoad(t, map[string]string{"Loopfile": `service("api", "x", ` + tt.args + `)`})
			if got := tt.get(p.Resource("api")); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoad_sharedProbeIsCopied(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{"Loopfile": `
p = exec_probe(["true"])
service("a", "x", readiness = p)
service("b", "x", readiness = p)
`})
	a, b := p.Resource("a").Readiness, p.Resource("b").Readiness
	if a == b {
		t.Errorf("got the same *Probe for two resources, want copies")
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("got %+v and %+v, want equal probes", a, b)
	}
}

func TestLoad_watchSettings(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{"Loopfile": `watch_settings(ignore = ["node_modules/", "*.log"], debounce = "50ms", max_wait = 1)`})
	want := model.WatchSettings{Ignore: []string{"node_modules/", "*.log"}, Debounce: 50 * time.Millisecond, MaxWait: time.Second}
	if !reflect.DeepEqual(p.Watch, want) {
		t.Errorf("got %+v, want %+v", p.Watch, want)
	}
}

func TestLoad_dialect(t *testing.T) {
	// Top-level if/for and sets are allowed; the resource order is the
	// declaration order.
	p, _ := mustLoad(t, map[string]string{"Loopfile": `
names = ["a", "b", "c"]
for n in names:
    if n in set(["a", "c"]):
        task(n, "echo " + n)
`})
	var got []string
	for _, r := range p.Resources {
		got = append(got, r.Name)
	}
	if want := []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoad_positionInHelper(t *testing.T) {
	// A resource declared through a helper function is positioned at the
	// service() call inside the helper.
	p, dir := mustLoad(t, map[string]string{"Loopfile": `
def svc(name):
    return service(name, "x")

svc("api")
`})
	want := model.Position{File: filepath.Join(dir, "Loopfile"), Line: 3, Col: 12}
	if got := p.Resource("api").Pos; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoad_missingLoopfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Loopfile")
	_, err := Load(context.Background(), path, Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want errors.Is os.ErrNotExist", err)
	}
	if got, want := e.Files, []string{path}; !slices.Equal(got, want) {
		t.Errorf("got Files %q, want %q", got, want)
	}
}

func TestLoad_relativePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Loopfile"), []byte(`task("t", "true")`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p, err := Load(context.Background(), "Loopfile", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Loopfile, filepath.Join(dir, "Loopfile"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoad_print(t *testing.T) {
	var out syncBuffer
	_, _, err := fixture(t, map[string]string{"Loopfile": `print("hello", 42)`}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "hello 42\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoad_resourceEqualAcrossEvaluations(t *testing.T) {
	files := map[string]string{"Loopfile": `service("api", "x", readiness = http_probe("http://localhost:1"))`}
	a, _ := mustLoad(t, files)
	files["Loopfile"] = "\n\n" + files["Loopfile"]
	b, _ := mustLoad(t, files)
	ra, rb := a.Resource("api"), b.Resource("api")
	ra.Dir, ra.Deps = rb.Dir, rb.Deps // different temp dirs
	if !ra.Equal(rb) {
		t.Errorf("got %+v != %+v, want Equal", ra, rb)
	}
}

func TestLoad_overrides(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{"Loopfile": `
watch_settings(debounce = "50ms")
slo_targets(build_success = 0.9)
`})
	o := p.Overrides
	if o.Debounce == nil || o.Debounce.Value != 50*time.Millisecond || o.Debounce.Pos.Line != 2 {
		t.Errorf("Debounce = %+v, want 50ms at line 2", o.Debounce)
	}
	if o.MaxWait != nil || o.Ignore != nil || o.SaveToLiveP95 != nil {
		t.Errorf("arguments not passed are overrides: %+v %+v %+v", o.MaxWait, o.Ignore, o.SaveToLiveP95)
	}
	if o.BuildSuccess == nil || o.BuildSuccess.Value != 0.9 || o.BuildSuccess.Pos != (model.Position{File: filepath.Join(dir, "Loopfile"), Line: 3, Col: 1}) {
		t.Errorf("BuildSuccess = %+v, want 0.9 at Loopfile:3:1", o.BuildSuccess)
	}
	if p.Watch.MaxWait != model.DefaultMaxWait {
		t.Errorf("Watch.MaxWait = %s, want the default", p.Watch.MaxWait)
	}
}

func TestLoad_policyException(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{"Loopfile": `
policy_exception("base_images", reason = " CUDA base until PLAT-1 ")
policy_exception(rule = "test_tasks", reason = "no tests yet")
`})
	want := []model.PolicyException{
		{Rule: "base_images", Reason: "CUDA base until PLAT-1", Pos: model.Position{File: filepath.Join(dir, "Loopfile"), Line: 2, Col: 1}},
		{Rule: "test_tasks", Reason: "no tests yet", Pos: model.Position{File: filepath.Join(dir, "Loopfile"), Line: 3, Col: 1}},
	}
	if !reflect.DeepEqual(p.PolicyExceptions, want) {
		t.Errorf("got %+v, want %+v", p.PolicyExceptions, want)
	}
}
