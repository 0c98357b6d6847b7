package loopfile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

func TestLoad_image(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Dockerfile":          "FROM scratch\n",
		"api/docker/Dev.file": "FROM scratch\n",
		"Loopfile": `
a = image("web")
b = image(
    "api",
    context = "api",
    dockerfile = "docker/Dev.file",
    target = "dev",
    build_args = {"GO_VERSION": "1.26"},
    ignore = ["*.md"],
)
service("x", "echo " + a + b)
`})
	loopfile := filepath.Join(dir, "Loopfile")
	want := []*model.Image{
		{Name: "web", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
			Pos: model.Position{File: loopfile, Line: 2, Col: 5}},
		{Name: "api", Context: filepath.Join(dir, "api"), Dockerfile: filepath.Join(dir, "api/docker/Dev.file"),
			Target: "dev", BuildArgs: map[string]string{"GO_VERSION": "1.26"}, Ignore: []string{"*.md"},
			Pos: model.Position{File: loopfile, Line: 3, Col: 5}},
	}
	if !reflect.DeepEqual(p.Images, want) {
		t.Errorf("got\n%+v\nwant\n%+v", p.Images, want)
	}
	if got, want := p.Resource("x").Cmd[2], "echo webapi"; got != want {
		t.Errorf("got %q, want %q (image() returns its name)", got, want)
	}
}

func TestLoad_containerDefaults(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{"Loopfile": "\ncontainer('db', 'postgres:16')\n"})
	got := p.Resource("db")
	want := &model.Resource{
		Name:        "db",
		Kind:        model.KindContainer,
		Dir:         dir,
		Trigger:     model.TriggerAuto,
		AutoStart:   true,
		StopSignal:  "SIGTERM",
		StopTimeout: 10 * time.Second,
		Container:   &model.Container{Image: "postgres:16"},
		Pos:         model.Position{File: filepath.Join(dir, "Loopfile"), Line: 2, Col: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\n%+v\nwant\n%+v\n%+v", got, got.Container, want, want.Container)
	}
}

func TestLoad_containerAllArgs(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Dockerfile": "FROM golang\n",
		"Loopfile": `
task("gen", "true")
container(
    name = "api",
    image = "api",
    cmd = "go run ./cmd/api",
    entrypoint = ["/usr/bin/env"],
    env = {"PORT": "8080"},
    ports = [8080, "9090:90", "5353:53/udp"],
    volumes = ["./data:/data", ` + strconv.Quote(hostPath("/tmp/x")+":/x:ro") + `, "gocache:/root/.cache:rw"],
    sync = [sync("cmd", "/src/cmd"), sync("internal/", "/src/internal/")],
    on_change = [run("go mod download", trigger = ["go.mod", "go.sum"]), run(["go", "build", "./..."]), restart()],
    rebuild_on = ["Dockerfile"],
    readiness = http_probe("http://localhost:8080/healthz"),
    resource_deps = ["gen"],
    links = ["http://localhost:8080"],
    labels = ["backend"],
    user = "1000:1000",
    workdir = "/src/",
    deps = ["cmd", "go.mod"],
    ignore = ["*.tmp"],
    trigger = "manual",
    auto_start = False,
    stop_signal = "int",
    stop_timeout = "3s",
)
image("api")
`})
	abs := func(p string) string { return filepath.Join(dir, p) }
	got := p.Resource("api")
	want := &model.Resource{
		Name:         "api",
		Kind:         model.KindContainer,
		Dir:          dir,
		Env:          map[string]string{"PORT": "8080"},
		Deps:         []string{abs("cmd"), abs("go.mod")},
		Ignore:       []string{"*.tmp"},
		ResourceDeps: []string{"gen"},
		Readiness: &model.Probe{Kind: model.ProbeHTTP, URL: "http://localhost:8080/healthz",
			Period: model.DefaultProbePeriod, Timeout: model.DefaultProbeTimeout},
		Links:       []model.Link{{URL: "http://localhost:8080"}},
		Labels:      []string{"backend"},
		Trigger:     model.TriggerManual,
		StopSignal:  "SIGINT",
		StopTimeout: 3 * time.Second,
		Container: &model.Container{
			Image:      "api",
			Build:      p.Images[0],
			Cmd:        []string{"/bin/sh", "-c", "go run ./cmd/api"},
			Entrypoint: []string{"/usr/bin/env"},
			Ports: []model.PortMap{
				{Host: 8080, Container: 8080, Protocol: "tcp"},
				{Host: 9090, Container: 90, Protocol: "tcp"},
				{Host: 5353, Container: 53, Protocol: "udp"},
			},
			Volumes: []model.Volume{
				{Source: abs("data"), Target: "/data"},
				{Source: hostPath("/tmp/x"), Target: "/x", ReadOnly: true},
				{Source: "gocache", Target: "/root/.cache", Named: true},
			},
			Sync: []model.SyncRule{{Local: abs("cmd"), Remote: "/src/cmd"}, {Local: abs("internal"), Remote: "/src/internal"}},
			OnChange: []model.Step{
				{Cmd: []string{"/bin/sh", "-c", "go mod download"}, Trigger: []string{abs("go.mod"), abs("go.sum")}},
				{Cmd: []string{"go", "build", "./..."}},
				{Restart: true},
			},
			RebuildOn: []string{abs("Dockerfile")},
			User:      "1000:1000",
			Workdir:   "/src",
		},
		Pos: model.Position{File: abs("Loopfile"), Line: 3, Col: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\n%+v\nwant\n%+v\n%+v", got, got.Container, want, want.Container)
	}
}

func TestLoad_containerImageResolution(t *testing.T) {
	// image= names an image() declared before or after the container, or
	// else is a reference to an image present locally.
	p, _ := mustLoad(t, map[string]string{
		"Dockerfile": "FROM scratch\n",
		"Loopfile": `
image("early")
container("a", "early")
container("b", "late")
container("c", "redis:7")
container("d", "ghcr.io/org/app@sha256:` + strings.Repeat("a", 64) + `")
image("late")
`})
	for _, tt := range []struct {
		name  string
		build string // "" = a reference
	}{{"a", "early"}, {"b", "late"}, {"c", ""}, {"d", ""}} {
		c := p.Resource(tt.name).Container
		switch {
		case tt.build == "" && c.Build != nil:
			t.Errorf("%s: got Build %q, want nil (a reference)", tt.name, c.Build.Name)
		case tt.build != "" && (c.Build == nil || c.Build.Name != tt.build):
			t.Errorf("%s: got Build %+v, want image %q", tt.name, c.Build, tt.build)
		}
	}
	if len(p.Warnings) != 0 {
		t.Errorf("got warnings %q, want none", p.Warnings)
	}
}

func TestLoad_containerImageTypo(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{
		"Dockerfile": "FROM scratch\n",
		"Loopfile":   "image(\"backend\")\ncontainer(\"api\", \"backnd\")\n",
	})
	if c := p.Resource("api").Container; c.Build != nil {
		t.Errorf("got Build %+v, want nil: an unknown name is a reference", c.Build)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `Loopfile:2:1: container "api": image "backnd" is not declared by image()`) ||
		!strings.Contains(p.Warnings[0], `did you mean "backend"?`) {
		t.Errorf("got warnings %q, want one that suggests backend", p.Warnings)
	}
}

func TestLoad_containerDefaultDeps(t *testing.T) {
	files := map[string]string{
		"api/Dockerfile":   "FROM golang\n",
		"docker/Dev.file":  "FROM golang\n",
		"web/package.json": "{}",
	}
	tests := []struct {
		name string
		call string
		want []string // relative to the project directory; "/..." absolute
	}{
		{"reference, nothing to watch", `container("c", "redis")`, nil},
		{"build context", `container("c", image("i", context = "api"))`, []string{"api"}},
		{"dockerfile outside the context", `container("c", image("i", context = "api", dockerfile = "../docker/Dev.file"))`,
			[]string{"api", "docker/Dev.file"}},
		{"union", `container("c", image("i", context = "api"),
    sync = [sync("web/src", "/app/src"), sync("web/public", "/app/public")],
    rebuild_on = ["web/package.json", "/etc/hosts"],
    on_change = [run("npm ci", trigger = ["web/package-lock.json", "web/package.json"]), restart()])`,
			[]string{"api", "web/src", "web/public", "web/package.json", "/etc/hosts", "web/package-lock.json"}},
		{"paths inside another are dropped", `container("c", image("i"), sync = [sync("api", "/app")], rebuild_on = ["docker"])`,
			[]string{"."}},
		{"explicit deps replace", `container("c", image("i", context = "api"), sync = [sync("web", "/app")], deps = ["docker"])`,
			[]string{"docker"}},
		{"empty deps watch nothing", `container("c", image("i", context = "api"), sync = [sync("web", "/app")], deps = [])`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := map[string]string{"Loopfile": tt.call, "Dockerfile": "FROM scratch\n"}
			for k, v := range files {
				fs[k] = v
			}
			p, dir := mustLoad(t, fs)
			var want []string
			for _, w := range tt.want {
				if !filepath.IsAbs(w) {
					w = filepath.Join(dir, w)
				}
				want = append(want, w)
			}
			if got := p.Resource("c").Deps; !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestLoad_containerValues(t *testing.T) {
	tests := []struct {
		name string
		args string // extra container() arguments
		get  func(c *model.Container) any
		want any
	}{
		{"cmd argv", `cmd = ["./server", "-v"]`, func(c *model.Container) any { return c.Cmd }, []string{"./server", "-v"}},
		{"entrypoint string", `entrypoint = "exec app"`, func(c *model.Container) any { return c.Entrypoint }, []string{"/bin/sh", "-c", "exec app"}},
		{"entrypoint [] clears", `entrypoint = []`, func(c *model.Container) any { return c.Entrypoint }, []string{}},
		{"None cmd is the image's", `cmd = None`, func(c *model.Container) any { return c.Cmd }, []string(nil)},
		{"port string without host", `ports = ["80"]`, func(c *model.Container) any { return c.Ports },
			[]model.PortMap{{Host: 80, Container: 80, Protocol: "tcp"}}},
		{"udp port", `ports = ["53/udp", "53:53"]`, func(c *model.Container) any { return c.Ports },
			[]model.PortMap{{Host: 53, Container: 53, Protocol: "udp"}, {Host: 53, Container: 53, Protocol: "tcp"}}},
		{"empty lists are nil", `ports = [], volumes = [], sync = [], on_change = [], rebuild_on = []`,
			func(c *model.Container) any { return *c }, model.Container{Image: "alpine"}},
		{"volume target cleaned", `volumes = ["v1:/data/"]`, func(c *model.Container) any { return c.Volumes },
			[]model.Volume{{Source: "v1", Target: "/data", Named: true}}},
		{"shared step values are copied", `on_change = [R, R]`, func(c *model.Container) any { return len(c.OnChange) }, 2},
		{"tuple sync", `sync = (sync("src", "/app"),)`, func(c *model.Container) any { return []string{filepath.Base(c.Sync[0].Local), c.Sync[0].Remote} },
			[]string{"src", "/app"}},
		{"run_once", `run_once = True`, func(c *model.Container) any { return c.RunOnce }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := mustLoad(t, map[string]string{"Loopfile": "R = run('true')\ncontainer(\"c\", \"alpine\", " + tt.args + ")"})
			if got := tt.get(p.Resource("c").Container); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoad_liveUpdateValues(t *testing.T) {
	// sync(), run() and restart() are values: printable, and usable in
	// several containers.
	var out syncBuffer
	_, _, err := fixture(t, map[string]string{"Loopfile": `
s = sync("src", "/app/src")
r = run("make", trigger = ["Makefile"])
print(s, r, restart(), type(s), type(r))
container("a", "alpine", sync = [s], on_change = [r, restart()])
container("b", "alpine", sync = [s], on_change = [r])
`}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), `sync("src", "/app/src") run("/bin/sh -c make") restart() sync step`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoad_containerResourceDeps(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{"Loopfile": `
db = container("db", "postgres:16")
service("api", "go run .", resource_deps = [db])
container("worker", "alpine", resource_deps = ["api"])
`})
	if got, want := p.Resource("worker").ResourceDeps, []string{"api"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := p.Resource("api").ResourceDeps, []string{"db"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoad_containerEqualAcrossEvaluations(t *testing.T) {
	src := `container("c", "alpine", cmd = "sleep 1", ports = [80], sync = [sync("src", "/app")], on_change = [restart()])`
	a, dir := mustLoad(t, map[string]string{"Loopfile": src})
	if err := os.WriteFile(filepath.Join(dir, "Loopfile"), []byte("\n\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(t.Context(), filepath.Join(dir, "Loopfile"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Resource("c"), b.Resource("c")
	if !ra.Equal(rb) {
		t.Errorf("got %+v != %+v, want Equal", ra, rb)
	}
}
