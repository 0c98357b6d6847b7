package devcontainer

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// The project's own Compose file and the .devcontainer file that extends
// it, as the "Existing Docker Compose (Extend)" template lays them out.
const (
	baseCompose = `
services:
  app:
    build:
      context: .
      dockerfile: .devcontainer/Dockerfile
      args: {GO_VERSION: "1.26"}
    command: ["sleep", "infinity"]
    environment: {FROM: base, KEEP: "1"}
    depends_on: [db]
  db:
    image: postgres:17
    depends_on: [cache]
  cache:
    image: redis:7
  docs:
    image: nginx:1
`
	extendCompose = `
services:
  app:
    volumes: ["..:/workspaces:cached"]
    environment: {FROM: extend}
    working_dir: /workspaces/app
    user: dev
`
)

func loadProject(t *testing.T, files map[string]string, env ...string) (*Result, string, error) {
	t.Helper()
	dir := newProject(t, files)
	res, err := Load(context.Background(), Options{ProjectDir: dir, Env: env, Name: "dev"})
	return res, dir, err
}

// TestLoad_compose: two Compose files merged in order, relative to
// devcontainer.json; the service's build becomes the dev container's image
// (named after the resource); runServices and their depends_on are the
// other services; the service's working_dir and user are the defaults of
// workspaceFolder and containerUser; the command is not overridden.
func TestLoad_compose(t *testing.T) {
	res, dir, err := loadProject(t, map[string]string{
		"docker-compose.yml":                      baseCompose,
		".devcontainer/docker-compose.extend.yml": extendCompose,
		".devcontainer/Dockerfile":                "FROM busybox\n",
		".devcontainer/devcontainer.json": `{
	// The project's file, then the dev container's overrides.
	"dockerComposeFile": ["../docker-compose.yml", "docker-compose.extend.yml"],
	"service": "app",
	"runServices": ["app", "db"],
	"containerEnv": {"EDITOR": "vi"},
	"postCreateCommand": "echo ${containerWorkspaceFolder}",
	"forwardPorts": [3000],
	"shutdownAction": "stopCompose",
}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, ".devcontainer", "devcontainer.json")
	files := []string{filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, ".devcontainer", "docker-compose.extend.yml")}
	cm := res.Compose
	if cm == nil {
		t.Fatal("Compose: nil for a dockerComposeFile config")
	}
	if !reflect.DeepEqual(cm.Files, files) || cm.Service != "app" {
		t.Errorf("Compose files, service: got %v, %q; want %v, app", cm.Files, cm.Service, files)
	}
	if want := []string{"cache", "db"}; !reflect.DeepEqual(cm.Services, want) {
		t.Errorf("Compose.Services: got %v, want %v (runServices and their depends_on, without the dev container's; docs is not run)", cm.Services, want)
	}
	app := cm.Project.Services["app"]
	if got := *app.Environment["FROM"]; got != "extend" {
		t.Errorf("app environment FROM = %q, want the second file's value over the first's", got)
	}
	// Relative paths in every file are relative to the first file's folder,
	// as in Compose: ".." is the project's parent.
	if len(app.Volumes) != 1 || app.Volumes[0].Source != filepath.Dir(dir) || app.Volumes[0].Target != "/workspaces" {
		t.Errorf("app volumes: got %+v, want the project's parent at /workspaces", app.Volumes)
	}

	dockerfile := filepath.Join(dir, ".devcontainer", "Dockerfile")
	wantImage := &model.Image{Name: "dev", Context: dir, Dockerfile: dockerfile, BuildArgs: map[string]string{"GO_VERSION": "1.26"}, Pos: res.Image.Pos}
	if !reflect.DeepEqual(res.Image, wantImage) || res.Image.Pos.Line != 4 {
		t.Errorf("Image: got %+v, want %+v at the service property (line 4)", res.Image, wantImage)
	}
	c := res.Container
	want := &model.Container{
		Image:      "dev",
		Build:      res.Image,
		RebuildOn:  []string{dockerfile},
		User:       "dev",
		RemoteUser: "dev",
		// The spec's default probe.
		UserEnvProbe: "loginInteractiveShell",
		Workdir:      "/workspaces/app",
		Lifecycle:    &model.Lifecycle{PostCreate: &model.Command{Argv: []string{"/bin/sh", "-c", "echo /workspaces/app"}}},
		Ports:        []model.PortMap{{Host: 3000, Container: 3000, Protocol: "tcp"}},
		ConfigFile:   config,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Container:\n got %+v\nwant %+v", c, want)
	}
	if want := map[string]string{"EDITOR": "vi"}; !reflect.DeepEqual(res.Env, want) {
		t.Errorf("Env: got %v, want containerEnv only %v (the service's environment is the Loopfile's to merge)", res.Env, want)
	}
	if want := append([]string{config}, append(files, dockerfile)...); !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files:\n got %v\nwant %v", res.Files, want)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("Warnings: got %q, want none", res.Warnings)
	}
}

// TestLoad_composeDefaults: one file as a string, an image service, no
// runServices (every service runs), workspaceFolder "/" when neither it
// nor working_dir is set, overrideCommand true keeps the container alive,
// a .env file next to the Compose file interpolates and is watched, and
// local Features extend the service's image.
func TestLoad_composeDefaults(t *testing.T) {
	files := featureFiles(t)
	files[".devcontainer/.env"] = "TAG=from-dotenv\n"
	files[".devcontainer/compose.yaml"] = `
services:
  dev:
    image: golang:${TAG}
  db:
    image: postgres:17
  cache:
    image: redis:${CACHE_TAG:-7}
`
	files[".devcontainer/devcontainer.json"] = `{
	"dockerComposeFile": "compose.yaml",
	"service": "dev",
	"overrideCommand": true,
	"remoteUser": "vscode",
	"features": {"./features/plain": "2.0"},
}`
	res, dir, err := loadProject(t, files, "CACHE_TAG=7.4")
	if err != nil {
		t.Fatal(err)
	}
	cm := res.Compose
	if want := []string{"cache", "db"}; !reflect.DeepEqual(cm.Services, want) {
		t.Errorf("Compose.Services: got %v, want every other service %v", cm.Services, want)
	}
	if got := cm.Project.Services["cache"].Image; got != "redis:7.4" {
		t.Errorf("cache image: got %q, want redis:7.4 (${CACHE_TAG} from the local environment)", got)
	}
	c := res.Container
	if c.Workdir != "/" || !c.KeepAlive || len(c.Volumes) != 0 {
		t.Errorf("Workdir, KeepAlive, Volumes: got %q, %v, %v; want \"/\", true, none", c.Workdir, c.KeepAlive, c.Volumes)
	}
	if res.Image == nil || res.Image.Name != "dev" || c.Image != "dev" || len(res.Images) != 1 {
		t.Fatalf("Image: got %+v (Images %v), want the Features image dev", res.Image, res.Images)
	}
	if res.Image.Generated == nil {
		t.Fatalf("Image: got %+v, want a generated context", res.Image)
	}
	if b := res.Image.Generated.Dockerfile; !strings.Contains(b, "ARG LOOP_BASE_IMAGE=golang:from-dotenv\n") {
		t.Errorf("generated Dockerfile does not extend the service's image golang:from-dotenv (TAG from .env):\n%s", b)
	}
	if env := filepath.Join(dir, ".devcontainer", ".env"); !contains(res.Files, env) {
		t.Errorf("Files %v lack the .env file %s", res.Files, env)
	}
}

// TestLoad_composeFeaturesOnBuild: with a built service, the service's
// image is built first as <name>-base and the Features image extends it.
func TestLoad_composeFeaturesOnBuild(t *testing.T) {
	files := featureFiles(t)
	files[".devcontainer/Dockerfile"] = "FROM busybox\n"
	files[".devcontainer/compose.yaml"] = "services:\n  app:\n    build: .\n"
	files[".devcontainer/devcontainer.json"] = `{"dockerComposeFile": "compose.yaml", "service": "app", "features": {"./features/plain": {}}}`
	res, _, err := loadProject(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || res.Images[0].Name != "dev-base" || res.Images[1].Name != "dev" || res.Images[1].Base != res.Images[0] {
		t.Fatalf("Images: got %+v, want dev-base then dev extending it", res.Images)
	}
	if res.Container.KeepAlive {
		t.Error("KeepAlive: got true, want false (overrideCommand defaults to false with Compose)")
	}
}

func TestLoad_composeWarnings(t *testing.T) {
	res, _, err := loadProject(t, map[string]string{
		".devcontainer/compose.yaml": "services:\n  app:\n    image: a\n",
		".devcontainer/devcontainer.json": `{
	"dockerComposeFile": "compose.yaml",
	"service": "app",
	"workspaceMount": "source=x,target=/x,type=bind",
	"runArgs": ["--network", "host"],
	"appPort": 8080,
	"shutdownAction": "none",
}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`.devcontainer/devcontainer.json:4:2: property workspaceMount only applies to image and build configs; ignored with dockerComposeFile (mount the workspace with the service's volumes)`,
		`.devcontainer/devcontainer.json:5:2: property runArgs only applies to image and build configs; ignored with dockerComposeFile (set the service's options in the Compose file)`,
		`.devcontainer/devcontainer.json:6:2: property appPort only applies to image and build configs; ignored with dockerComposeFile (use forwardPorts, or the service's ports)`,
		`.devcontainer/devcontainer.json:7:20: shutdownAction none: loop keeps the containers while the daemon runs and ` + "`loop down`" + ` removes them; ignored`,
	}
	if !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("Warnings:\n got %q\nwant %q", res.Warnings, want)
	}
	if len(res.Ports) != 0 || len(res.Container.Ports) != 0 {
		t.Errorf("Ports: got %v, %v; want none (appPort ignored)", res.Ports, res.Container.Ports)
	}
}

// TestLoad_composeErrors: problems that need the Compose files point at
// the devcontainer.json value, or at the Compose file's line.
func TestLoad_composeErrors(t *testing.T) {
	const compose = "services:\n  app:\n    image: a\n  db:\n    image: b\n"
	tests := []struct {
		name    string
		compose string
		config  string
		file    string // "" = devcontainer.json
		line    int
		col     int
		msg     string
	}{
		{"unknown service", compose, `{"dockerComposeFile": "compose.yaml",
 "service": "ap"}`, "", 2, 13, `service "ap" is not in .devcontainer/compose.yaml`},
		{"runServices unknown", compose, `{"dockerComposeFile": "compose.yaml", "service": "app",
 "runServices": ["app", "cache"]}`, "", 2, 25, `runServices[1]: service "cache" is not in the Compose files`},
		{"no image", "services:\n  app:\n    command: [sh]\n", `{"dockerComposeFile": "compose.yaml",
 "service": "app"}`, "", 1, 23, `service "app" has neither an image nor a build context`},
		{"yaml", "services:\n  app:\n    image: a\n   bad: [\n", `{"dockerComposeFile": "compose.yaml", "service": "app"}`,
			"compose.yaml", 3, 4, "compose: yaml: "},
		{"shutdownAction", compose, `{"dockerComposeFile": "compose.yaml", "service": "app",
 "shutdownAction": "stopContainer"}`, "", 2, 20, `shutdownAction "stopContainer" is not valid here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := loadProject(t, map[string]string{
				".devcontainer/compose.yaml":      tt.compose,
				".devcontainer/devcontainer.json": tt.config,
			})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load: got %v, want an *Error", err)
			}
			file := filepath.Join(dir, ".devcontainer", "devcontainer.json")
			if tt.file != "" {
				file = filepath.Join(dir, ".devcontainer", tt.file)
			}
			if e.File != file || e.Line != tt.line || (tt.file == "" && e.Col != tt.col) {
				t.Errorf("position: got %s:%d:%d, want %s:%d:%d (%v)", e.File, e.Line, e.Col, file, tt.line, tt.col, err)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message: got %q, want it to contain %q", e.Msg, tt.msg)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A runServices that leaves out the dev container's service still runs it
// (as the Dev Containers CLI does), and with it what it depends on.
func TestLoad_composeRunServicesWithoutService(t *testing.T) {
	res, _, err := loadProject(t, map[string]string{
		"docker-compose.yml":       baseCompose,
		".devcontainer/Dockerfile": "FROM busybox\n",
		".devcontainer/devcontainer.json": `{"dockerComposeFile": "../docker-compose.yml", "service": "app",
 "runServices": ["docs"]}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cache", "db", "docs"}; !reflect.DeepEqual(res.Compose.Services, want) {
		t.Errorf("Compose.Services: got %v, want %v (docs, and app's dependencies)", res.Compose.Services, want)
	}
}
