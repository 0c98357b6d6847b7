package loopfile

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

// A Compose-based dev container: app is the dev container, built from the
// project, db a helper it depends on, worker a service runServices leaves
// out.
var devcontainerComposeFiles = map[string]string{
	".devcontainer/devcontainer.json": `{
	"dockerComposeFile": ["docker-compose.yml", "docker-compose.dev.yml"],
	"service": "app",
	"runServices": ["app", "db"],
	"workspaceFolder": "/workspace",
	"remoteUser": "dev",
	"containerEnv": {"MODE": "devcontainer"},
	"forwardPorts": [8080, 3000],
	"postCreateCommand": "make deps",
	"customizations": {},
}`,
	".devcontainer/docker-compose.yml": `
services:
  app:
    build: {context: .., dockerfile: .devcontainer/Dockerfile}
    command: ["sleep", "infinity"]
    environment: {MODE: compose, DB: db}
    ports: ["8080:8080"]
    depends_on: [db]
    healthcheck: {test: ["CMD", "true"]}
  db:
    build: ./db
    command: ["httpd", "-f"]
    volumes: ["db-data:/data"]
  worker:
    image: busybox
    depends_on: [app]
volumes:
  db-data:
`,
	".devcontainer/docker-compose.dev.yml": `
services:
  app:
    volumes: ["..:/workspace"]
    develop:
      watch:
        - {action: sync, path: ../src, target: /workspace/src}
        - {action: restart, path: ../app.conf}
`,
	".devcontainer/Dockerfile":    "FROM busybox\n",
	".devcontainer/db/Dockerfile": "FROM busybox\n",
	"src/":                        "",
}

// TestDevcontainer_compose: the dev container is one resource named after
// devcontainer() with the service's Compose mapping under the
// devcontainer.json's settings; the other services to run are resources
// named after their services, as compose() declares them.
func TestDevcontainer_compose(t *testing.T) {
	files := map[string]string{"Loopfile": `devcontainer("dev", labels = ["dev"])` + "\n"}
	for k, v := range devcontainerComposeFiles {
		files[k] = v
	}
	p, dir, err := fixture(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	abs := func(rel string) string { return filepath.Join(dir, rel) }
	names := make([]string, len(p.Resources))
	for i, r := range p.Resources {
		names[i] = r.Name
	}
	if want := []string{"dev", "db"}; !slices.Equal(names, want) {
		t.Fatalf("resources: got %v, want %v (worker is not in runServices)", names, want)
	}

	dev := p.Resource("dev")
	devImage := &model.Image{Name: "dev", Context: dir, Dockerfile: abs(".devcontainer/Dockerfile")}
	wantDev := &model.Resource{
		Name: "dev", Kind: model.KindContainer, Dir: dir,
		Env:          map[string]string{"MODE": "devcontainer", "DB": "db"},
		Deps:         []string{abs("src"), abs(".devcontainer/Dockerfile"), abs("app.conf")},
		ResourceDeps: []string{"db"},
		Links:        []model.Link{{URL: "http://127.0.0.1:8080"}, {URL: "http://127.0.0.1:3000"}},
		Labels:       []string{"dev"},
		Trigger:      model.TriggerAuto,
		AutoStart:    true,
		StopSignal:   "SIGTERM",
		StopTimeout:  10 * time.Second,
		Readiness:    &model.Probe{Kind: model.ProbeExec, Cmd: []string{"true"}, Period: 500 * time.Millisecond, Timeout: 5 * time.Second},
		Container: &model.Container{
			Image: "dev",
			Build: devImage,
			Cmd:   []string{"sleep", "infinity"},
			Ports: []model.PortMap{
				{Host: 8080, Container: 8080, Protocol: "tcp"},
				{Host: 3000, Container: 3000, Protocol: "tcp"},
			},
			Volumes:      []model.Volume{{Source: dir, Target: "/workspace"}},
			Sync:         []model.SyncRule{{Local: abs("src"), Remote: "/workspace/src"}},
			OnChange:     []model.Step{{Restart: true}},
			RebuildOn:    []string{abs(".devcontainer/Dockerfile")},
			Workdir:      "/workspace",
			Aliases:      []string{"app"}, // other services reach it by its service name
			RemoteUser:   "dev",
			UserEnvProbe: "loginInteractiveShell", // the spec's default
			Lifecycle:    &model.Lifecycle{PostCreate: &model.Command{Argv: []string{"/bin/sh", "-c", "make deps"}}},
			ConfigFile:   abs(".devcontainer/devcontainer.json"),
		},
	}
	if !dev.Equal(wantDev) {
		t.Errorf("dev:\n got %+v\n     %+v\nwant %+v\n     %+v", dev, dev.Container, wantDev, wantDev.Container)
	}

	db := p.Resource("db")
	if db.Container.Image != "db-image" || db.Container.Build == nil || db.Container.Build.Dockerfile != abs(".devcontainer/db/Dockerfile") {
		t.Errorf("db: got image %q built from %+v, want db-image from .devcontainer/db/Dockerfile", db.Container.Image, db.Container.Build)
	}
	if want := []model.Volume{{Source: "db-data", Target: "/data", Named: true}}; !reflect.DeepEqual(db.Container.Volumes, want) {
		t.Errorf("db volumes: got %+v, want %+v", db.Container.Volumes, want)
	}
	var images []string
	for _, img := range p.Images {
		images = append(images, img.Name)
	}
	if want := []string{"db-image", "dev"}; !slices.Equal(slices.Sorted(slices.Values(images)), want) {
		t.Errorf("images: got %v, want %v", images, want)
	}

	for _, f := range []string{".devcontainer/devcontainer.json", ".devcontainer/docker-compose.yml", ".devcontainer/docker-compose.dev.yml"} {
		if !slices.Contains(p.Files, abs(f)) {
			t.Errorf("Files %v lack %s: editing it must re-evaluate", p.Files, f)
		}
	}
	wantWarnings := []string{
		`devcontainer "dev": .devcontainer/devcontainer.json:10:2: property customizations is not supported by loop; ignored`,
	}
	for _, w := range wantWarnings {
		if !slices.Contains(p.Warnings, w) {
			t.Errorf("Warnings %q lack %q", p.Warnings, w)
		}
	}
}

// TestDevcontainer_composeDependsOnDevService: a service that depends on
// the dev container's service depends on the devcontainer() resource.
func TestDevcontainer_composeDependsOnDevService(t *testing.T) {
	files := map[string]string{"Loopfile": `devcontainer("dev")` + "\n"}
	for k, v := range devcontainerComposeFiles {
		files[k] = v
	}
	files[".devcontainer/devcontainer.json"] = `{"dockerComposeFile": "docker-compose.yml", "service": "app"}`
	p, _ := mustLoad(t, files)
	worker := p.Resource("worker")
	if worker == nil {
		t.Fatal("worker: not declared; without runServices every service runs")
	}
	if want := []string{"dev"}; !slices.Equal(worker.ResourceDeps, want) {
		t.Errorf("worker resource_deps: got %v, want %v (depends_on: [app], the dev container)", worker.ResourceDeps, want)
	}
	if dev := p.Resource("dev"); dev.Container.Workdir != "/" || dev.Container.KeepAlive {
		t.Errorf("dev: Workdir %q, KeepAlive %v; want \"/\" and false (the spec's Compose defaults)", dev.Container.Workdir, dev.Container.KeepAlive)
	}
}

func TestDevcontainer_composeErrors(t *testing.T) {
	tests := []struct {
		name     string
		loopfile string
		config   string
		want     string
	}{
		{"name of another service", `devcontainer("db")`,
			`{"dockerComposeFile": "docker-compose.yml", "service": "app", "runServices": ["app", "db"]}`,
			`"db" is also the name of the Compose service "db"`},
		{"clash with a resource", "service(\"db\", \"true\")\ndevcontainer(\"dev\")",
			`{"dockerComposeFile": "docker-compose.yml", "service": "app", "runServices": ["app", "db"]}`,
			`service "db" clashes with the resource declared at Loopfile:1:1`},
		{"a resource after", "devcontainer(\"dev\")\nservice(\"db\", \"true\")",
			`{"dockerComposeFile": "docker-compose.yml", "service": "app", "runServices": ["app", "db"]}`,
			`service: duplicate resource name "db" (first declared at Loopfile:1:1)`},
		{"unknown service", `devcontainer("dev")`,
			`{"dockerComposeFile": "docker-compose.yml", "service": "api"}`,
			// The error's file is the absolute, native path; the message shows
			// the project's files as a Loopfile writes them.
			filepath.FromSlash(".devcontainer/devcontainer.json") + `:1:56: devcontainer: service "api" is not in .devcontainer/docker-compose.yml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"Loopfile": tt.loopfile + "\n"}
			for k, v := range devcontainerComposeFiles {
				files[k] = v
			}
			files[".devcontainer/devcontainer.json"] = tt.config
			_, _, err := fixture(t, files, Options{})
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("Load: got %v, want a *loopfile.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDevcontainer_composeErrorWatchesFiles: when the Compose project does
// not load, the error still lists the Compose files (and a missing one) to
// watch, so that fixing or creating them re-evaluates.
func TestDevcontainer_composeErrorWatchesFiles(t *testing.T) {
	_, dir, err := fixture(t, map[string]string{
		"Loopfile":                         `devcontainer("dev")` + "\n",
		".devcontainer/devcontainer.json":  `{"dockerComposeFile": ["docker-compose.yml", "extra.yml"], "service": "app"}`,
		".devcontainer/docker-compose.yml": "services:\n  app:\n    image: busybox\n    volumes: [\"data:/data\"]\n",
	}, Options{})
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("Load: got %v, want a *loopfile.Error", err)
	}
	if !strings.Contains(le.Msg, "extra.yml not found") {
		t.Errorf("error: got %q, want the missing extra.yml named", le.Msg)
	}
	for _, f := range []string{"docker-compose.yml", "extra.yml"} {
		if path := filepath.Join(dir, ".devcontainer", f); !slices.Contains(le.Files, path) {
			t.Errorf("error Files %v lack %s", le.Files, path)
		}
	}

	// Once extra.yml exists, the undefined volume is the problem: the
	// Compose files are still watched.
	_, dir, err = fixture(t, map[string]string{
		"Loopfile":                         `devcontainer("dev")` + "\n",
		".devcontainer/devcontainer.json":  `{"dockerComposeFile": ["docker-compose.yml", "extra.yml"], "service": "app"}`,
		".devcontainer/docker-compose.yml": "services:\n  app:\n    image: busybox\n    volumes: [\"data:/data\"]\n",
		".devcontainer/extra.yml":          "services:\n  app:\n    user: dev\n",
	}, Options{})
	if !errors.As(err, &le) || !strings.Contains(le.Msg, "undefined volume data") {
		t.Fatalf("Load: got %v, want an error about the undefined volume", err)
	}
	for _, f := range []string{"docker-compose.yml", "extra.yml"} {
		if path := filepath.Join(dir, ".devcontainer", f); !slices.Contains(le.Files, path) {
			t.Errorf("error Files %v lack %s", le.Files, path)
		}
	}
}
