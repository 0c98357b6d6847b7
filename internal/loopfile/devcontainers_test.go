package loopfile

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/devcontainer"
	"github.com/loopdev/loop/internal/model"
)

// fakeDevcontainer makes devcontainer() call load instead of
// devcontainer.Load for the rest of the test, and records the options.
func fakeDevcontainer(t *testing.T, load func(devcontainer.Options) (*devcontainer.Result, error)) *[]devcontainer.Options {
	t.Helper()
	var calls []devcontainer.Options
	old := loadDevcontainer
	loadDevcontainer = func(_ context.Context, opts devcontainer.Options) (*devcontainer.Result, error) {
		calls = append(calls, opts)
		return load(opts)
	}
	t.Cleanup(func() { loadDevcontainer = old })
	return &calls
}

func TestLoad_devcontainer(t *testing.T) {
	var config string
	calls := fakeDevcontainer(t, func(opts devcontainer.Options) (*devcontainer.Result, error) {
		config = filepath.Join(opts.ProjectDir, ".devcontainer", "devcontainer.json")
		return &devcontainer.Result{
			Image: &model.Image{Name: "loop-" + opts.Name, Context: filepath.Join(opts.ProjectDir, ".devcontainer"),
				Dockerfile: filepath.Join(opts.ProjectDir, ".devcontainer", "Dockerfile")},
			Container: &model.Container{
				Image:      "loop-" + opts.Name,
				Volumes:    []model.Volume{{Source: opts.ProjectDir, Target: "/workspaces/app"}},
				RebuildOn:  []string{filepath.Join(opts.ProjectDir, ".devcontainer")},
				Workdir:    "/workspaces/app",
				KeepAlive:  true,
				ConfigFile: config,
			},
			Env:      map[string]string{"GOFLAGS": "-mod=mod"},
			Ports:    []int{8080, 5432},
			Warnings: []string{`"hostRequirements" is not supported`},
			Files:    []string{config},
		}, nil
	})
	p, dir, err := fixture(t, map[string]string{"Loopfile": `
service("db", "true")
devcontainer(
    "app",
    sync = [sync("gen", "/gen")],
    on_change = [run("go build ./...", trigger = ["go.mod"]), restart()],
    resource_deps = ["db"],
    labels = ["dev"],
)
`}, Options{Env: []string{"A=b"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []devcontainer.Options{{ProjectDir: dir, Env: []string{"A=b"}, Name: "app"}}; !reflect.DeepEqual(*calls, want) {
		t.Errorf("got Load options %+v, want %+v", *calls, want)
	}
	abs := func(p string) string { return filepath.Join(dir, p) }
	got := p.Resource("app")
	want := &model.Resource{
		Name:         "app",
		Kind:         model.KindContainer,
		Dir:          dir,
		Env:          map[string]string{"GOFLAGS": "-mod=mod"},
		Deps:         []string{abs("gen"), abs(".devcontainer"), abs("go.mod")},
		ResourceDeps: []string{"db"},
		Links:        []model.Link{{URL: "http://127.0.0.1:8080"}, {URL: "http://127.0.0.1:5432"}},
		Labels:       []string{"dev"},
		Trigger:      model.TriggerAuto,
		AutoStart:    true,
		StopSignal:   "SIGTERM",
		StopTimeout:  10 * time.Second,
		Container: &model.Container{
			Image:     "loop-app",
			Build:     p.Images[0],
			Volumes:   []model.Volume{{Source: dir, Target: "/workspaces/app"}},
			Sync:      []model.SyncRule{{Local: abs("gen"), Remote: "/gen"}},
			OnChange:  []model.Step{{Cmd: []string{"/bin/sh", "-c", "go build ./..."}, Trigger: []string{abs("go.mod")}}, {Restart: true}},
			RebuildOn: []string{abs(".devcontainer")},
			Workdir:   "/workspaces/app",
			KeepAlive: true,

			ConfigFile: config,
		},
		Pos: model.Position{File: abs("Loopfile"), Line: 3, Col: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\n%+v\nwant\n%+v\n%+v", got, got.Container, want, want.Container)
	}
	if len(p.Images) != 1 || p.Images[0].Name != "loop-app" || p.Images[0].Pos != got.Pos {
		t.Errorf("got Images %+v, want loop-app positioned at the devcontainer() call", p.Images)
	}
	if wantFiles := []string{abs("Loopfile"), config}; !slices.Equal(p.Files, wantFiles) {
		t.Errorf("got Files %q, want %q", p.Files, wantFiles)
	}
	if wantW := []string{`devcontainer "app": "hostRequirements" is not supported`}; !slices.Equal(p.Warnings, wantW) {
		t.Errorf("got Warnings %q, want %q", p.Warnings, wantW)
	}
}

func TestLoad_devcontainerOverrides(t *testing.T) {
	// links= and deps= replace the defaults; an image reference builds nothing.
	fakeDevcontainer(t, func(opts devcontainer.Options) (*devcontainer.Result, error) {
		return &devcontainer.Result{
			Container: &model.Container{Image: "mcr.microsoft.com/devcontainers/go:1"},
			Ports:     []int{8080},
		}, nil
	})
	p, dir := mustLoad(t, map[string]string{"Loopfile": `devcontainer("app", path = ".devcontainer/go/devcontainer.json", links = [], deps = ["src"])`})
	r := p.Resource("app")
	if r.Links != nil || !slices.Equal(r.Deps, []string{filepath.Join(dir, "src")}) || r.Container.Build != nil || len(p.Images) != 0 {
		t.Errorf("got Links %v, Deps %q, Build %v, Images %v; want none, [src], nil, none", r.Links, r.Deps, r.Container.Build, p.Images)
	}
}

func TestLoad_devcontainerErrors(t *testing.T) {
	tests := []struct {
		name     string
		loopfile string
		err      error
		want     Error // Files: the devcontainer.json files that must be watched
	}{
		{
			name:     "config error points into devcontainer.json",
			loopfile: "\n\ndevcontainer(\"app\")\n",
			err:      &devcontainer.Error{File: hostPath("/p/.devcontainer/devcontainer.json"), Line: 4, Col: 12, Msg: `unknown property "imag"`, Hint: `did you mean "image"?`},
			want: Error{File: hostPath("/p/.devcontainer/devcontainer.json"), Line: 4, Col: 12,
				Msg: `devcontainer: unknown property "imag"`, Hint: `did you mean "image"?; loaded by devcontainer() at Loopfile:3:1`,
				Files: []string{hostPath("/p/.devcontainer/devcontainer.json")}},
		},
		{
			name:     "other errors point at the call",
			loopfile: "x = 1\ndevcontainer(\"app\", path = \"dc.json\")\n",
			err:      errors.New("devcontainer: not implemented yet"),
			want:     Error{File: "Loopfile", Line: 2, Col: 1, Msg: "devcontainer: not implemented yet", Files: []string{"dc.json"}},
		},
		{
			name:     "config error without a line points at the call",
			loopfile: "devcontainer(\"app\", path = " + strconv.Quote(hostPath("/elsewhere/dc.json")) + ")\n",
			err:      &devcontainer.Error{File: hostPath("/elsewhere/dc.json"), Msg: "devcontainer.json not found", Hint: "check path="},
			want: Error{File: "Loopfile", Line: 1, Col: 1, Msg: "devcontainer: " + hostPath("/elsewhere/dc.json") + ": devcontainer.json not found",
				Hint: "check path=", Files: []string{hostPath("/elsewhere/dc.json")}},
		},
		{
			name:     "missing config is watched in the spec's places",
			loopfile: "devcontainer(\"app\")\n",
			err:      errors.New("no devcontainer.json found"),
			want: Error{File: "Loopfile", Line: 1, Col: 1, Msg: "devcontainer: no devcontainer.json found",
				Files: []string{".devcontainer/devcontainer.json", ".devcontainer.json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeDevcontainer(t, func(devcontainer.Options) (*devcontainer.Result, error) { return nil, tt.err })
			e, dir := mustError(t, map[string]string{"Loopfile": tt.loopfile}, Options{})
			abs := func(p string) string {
				if filepath.IsAbs(p) {
					return p
				}
				return filepath.Join(dir, p)
			}
			if got, want := [3]any{e.File, e.Line, e.Col}, [3]any{abs(tt.want.File), tt.want.Line, tt.want.Col}; got != want {
				t.Errorf("got position %v, want %v", got, want)
			}
			if e.Msg != tt.want.Msg || e.Hint != tt.want.Hint {
				t.Errorf("got message %q hint %q, want %q, %q", e.Msg, e.Hint, tt.want.Msg, tt.want.Hint)
			}
			for _, f := range tt.want.Files {
				if !slices.Contains(e.Files, abs(f)) {
					t.Errorf("got Files %q, want them to include %s", e.Files, abs(f))
				}
			}
		})
	}
}

func TestLoad_devcontainerImageClash(t *testing.T) {
	fakeDevcontainer(t, func(opts devcontainer.Options) (*devcontainer.Result, error) {
		img := &model.Image{Name: "app", Context: opts.ProjectDir, Dockerfile: filepath.Join(opts.ProjectDir, "Dockerfile")}
		return &devcontainer.Result{Image: img, Container: &model.Container{Image: "app"}}, nil
	})
	e, _ := mustError(t, map[string]string{"Dockerfile": "FROM scratch\n", "Loopfile": "image(\"app\")\ndevcontainer(\"app\")\n"}, Options{})
	if e.Line != 2 || e.Col != 14 || !strings.Contains(e.Msg, `devcontainer: image "app" clashes with the image declared at Loopfile:1:1`) {
		t.Errorf("got %v, want an image clash at 2:14", e)
	}
}

func TestLoad_devcontainerConfig(t *testing.T) {
	// The real devcontainer.Load, end to end.
	p, dir := mustLoad(t, map[string]string{
		".devcontainer/devcontainer.json": `{
  // JSONC: comments and trailing commas
  "build": {"dockerfile": "Dockerfile", "args": {"V": "1"}},
  "forwardPorts": [8080],
  "containerEnv": {"A": "b"},
  "hostRequirements": {"cpus": 2},
}`,
		".devcontainer/Dockerfile": "FROM golang:1.26\n",
		"Loopfile":                 `devcontainer("app", sync = [sync("gen", "/gen")], on_change = [restart()])`,
	})
	abs := func(p string) string { return filepath.Join(dir, p) }
	r := p.Resource("app")
	if r == nil || r.Kind != model.KindContainer || r.Container == nil {
		t.Fatalf("got %+v, want a container resource", r)
	}
	c := r.Container
	if len(p.Images) != 1 || c.Build != p.Images[0] || c.Image != p.Images[0].Name {
		t.Fatalf("got Images %+v, Build %p, Image %q; want one image, built for the container", p.Images, c.Build, c.Image)
	}
	if got, want := p.Images[0].Dockerfile, abs(".devcontainer/Dockerfile"); got != want {
		t.Errorf("got Dockerfile %q, want %q", got, want)
	}
	if got, want := r.Env, map[string]string{"A": "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got Env %v, want %v", got, want)
	}
	if got, want := r.Links, []model.Link{{URL: "http://127.0.0.1:8080"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got Links %v, want %v", got, want)
	}
	if got, want := c.Sync, []model.SyncRule{{Local: abs("gen"), Remote: "/gen"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got Sync %v, want %v", got, want)
	}
	if got, want := c.OnChange, []model.Step{{Restart: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got OnChange %v, want %v", got, want)
	}
	if !slices.Contains(r.Deps, abs("gen")) {
		t.Errorf("got Deps %q, want them to include the sync local", r.Deps)
	}
	for _, d := range c.RebuildOn {
		if !slices.Contains(r.Deps, d) {
			t.Errorf("got Deps %q, want them to include rebuild_on %s", r.Deps, d)
		}
	}
	if !slices.Contains(p.Files, abs(".devcontainer/devcontainer.json")) {
		t.Errorf("got Files %q, want the devcontainer.json watched", p.Files)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "hostRequirements") {
		t.Errorf("got Warnings %q, want one about hostRequirements", p.Warnings)
	}
}

func TestLoad_devcontainerConfigError(t *testing.T) {
	// The real devcontainer.Load: a bad value points into devcontainer.json.
	e, dir := mustError(t, map[string]string{
		".devcontainer/devcontainer.json": "{\n  \"image\": 42\n}",
		"Loopfile":                        "\ndevcontainer(\"app\")",
	}, Options{})
	config := filepath.Join(dir, ".devcontainer", "devcontainer.json")
	if e.File != config || e.Line != 2 || !strings.HasPrefix(e.Msg, "devcontainer: ") || !strings.Contains(e.Hint, "devcontainer() at Loopfile:2:1") {
		t.Errorf("got %v, want an error at %s:2 that names the call", e, config)
	}
	if !slices.Contains(e.Files, config) {
		t.Errorf("got Files %q, want %s watched", e.Files, config)
	}
}
