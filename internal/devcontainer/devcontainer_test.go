package devcontainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// newProject writes files (relative path -> content) under a fresh
// project directory called "app" and returns its absolute path.
func newProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadTestdata loads testdata/name as .devcontainer/devcontainer.json of a
// project that also has extra files.
func loadTestdata(t *testing.T, name string, extra map[string]string, env ...string) (*Result, string) {
	t.Helper()
	files := map[string]string{".devcontainer/devcontainer.json": testdata(t, name)}
	for k, v := range extra {
		files[k] = v
	}
	dir := newProject(t, files)
	res, err := Load(context.Background(), Options{ProjectDir: dir, Env: env, Name: "dev"})
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return res, dir
}

func TestLoad_lookup(t *testing.T) {
	const cfg = `{"image": "alpine:3"}`
	tests := []struct {
		name    string
		files   []string
		path    string
		want    string // relative to the project; "" = an error
		wantErr []string
	}{
		{name: "folder first", files: []string{".devcontainer/devcontainer.json", ".devcontainer.json", ".devcontainer/a/devcontainer.json"}, want: ".devcontainer/devcontainer.json"},
		{name: "root file second", files: []string{".devcontainer.json", ".devcontainer/a/devcontainer.json"}, want: ".devcontainer.json"},
		{name: "one sub folder", files: []string{".devcontainer/go/devcontainer.json"}, want: ".devcontainer/go/devcontainer.json"},
		{name: "several sub folders", files: []string{".devcontainer/go/devcontainer.json", ".devcontainer/node/devcontainer.json"},
			wantErr: []string{".devcontainer/go/devcontainer.json", ".devcontainer/node/devcontainer.json", "pass path="}},
		{name: "explicit path", files: []string{".devcontainer/go/devcontainer.json", ".devcontainer/node/devcontainer.json"}, path: ".devcontainer/node/devcontainer.json", want: ".devcontainer/node/devcontainer.json"},
		{name: "missing", wantErr: []string{"no devcontainer.json found", ".devcontainer/devcontainer.json", ".devcontainer.json", ".devcontainer/<folder>/devcontainer.json"}},
		{name: "missing explicit", path: "x/devcontainer.json", wantErr: []string{"x/devcontainer.json", "not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tt.files {
				files[f] = cfg
			}
			dir := newProject(t, files)
			res, err := Load(context.Background(), Options{ProjectDir: dir, Path: tt.path, Name: "dev"})
			if tt.want == "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Load: got %v, want an *Error", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := res.Container.ConfigFile, filepath.Join(dir, tt.want); got != want {
				t.Errorf("ConfigFile: got %s, want %s", got, want)
			}
		})
	}
}

func TestLoad_image(t *testing.T) {
	res, dir := loadTestdata(t, "image.jsonc", nil, "TOKEN=secret", "USER=me")
	cfg := filepath.Join(dir, ".devcontainer", "devcontainer.json")
	want := &model.Container{
		Image:        "mcr.microsoft.com/devcontainers/go:1",
		UserEnvProbe: "loginInteractiveShell", // the spec's default
		Ports: []model.PortMap{
			{Host: 3000, Container: 3000, Protocol: "tcp"},
			{Host: 3001, Container: 3001, Protocol: "tcp"},
			{Host: 8080, Container: 80, Protocol: "tcp"},
			{Host: 9000, Container: 9000, Protocol: "tcp"},
		},
		Volumes: []model.Volume{
			{Source: dir, Target: "/workspaces/app"},
			{Source: filepath.Join(dir, "cache"), Target: "/cache", ReadOnly: true},
			{Source: "gomod", Target: "/go/pkg/mod", Named: true},
			{Source: "data", Target: "/data", Named: true},
		},
		User:       "vscode",
		Workdir:    "/workspaces/app",
		RemoteUser: "vscode",
		RemoteEnv: map[string]string{
			"PATH":  "${containerEnv:PATH}:/workspaces/app/bin",
			"TOKEN": "secret",
		},
		Lifecycle:  &model.Lifecycle{PostCreate: &model.Command{Argv: []string{"/bin/sh", "-c", "go mod download"}}},
		KeepAlive:  false,
		Privileged: true,
		CapAdd:     []string{"SYS_PTRACE"},
		Init:       true,
		ConfigFile: cfg,
	}
	if !reflect.DeepEqual(res.Container, want) {
		t.Errorf("Container:\n got %+v\nwant %+v", res.Container, want)
	}
	if res.Image != nil || res.Images != nil {
		t.Errorf("Image: got %+v %v, want nil for an image used as is", res.Image, res.Images)
	}
	if got, want := res.Name, "app dev"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	if want := map[string]string{"GOFLAGS": "-mod=mod", "PROJECT": "app"}; !reflect.DeepEqual(res.Env, want) {
		t.Errorf("Env: got %v, want %v", res.Env, want)
	}
	if want := []int{3000, 3001, 8080, 9000}; !reflect.DeepEqual(res.Ports, want) {
		t.Errorf("Ports: got %v, want %v", res.Ports, want)
	}
	if want := []string{cfg}; !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files: got %v, want %v", res.Files, want)
	}
	wantWarnings := []string{
		`.devcontainer/devcontainer.json:15:43: forwardPorts[2]: "db:5432" forwards a port of another host; loop only publishes the container's own ports; ignored`,
		`.devcontainer/devcontainer.json:28:2: property customizations is not supported by loop; ignored`,
		`.devcontainer/devcontainer.json:29:2: property hostRequirements is not supported by loop; ignored`,
	}
	if !reflect.DeepEqual(res.Warnings, wantWarnings) {
		t.Errorf("Warnings:\n got %q\nwant %q", res.Warnings, wantWarnings)
	}
}

func TestLoad_build(t *testing.T) {
	res, dir := loadTestdata(t, "build.jsonc", map[string]string{".devcontainer/Dockerfile": "FROM alpine:3\n"})
	dockerfile := filepath.Join(dir, ".devcontainer", "Dockerfile")
	wantImage := &model.Image{
		Name:       "dev",
		Context:    dir,
		Dockerfile: dockerfile,
		Target:     "dev",
		BuildArgs:  map[string]string{"GO_VERSION": "1.26", "USER": "dev"},
		Pos:        model.Position{File: filepath.Join(dir, ".devcontainer", "devcontainer.json"), Line: 2, Col: 11},
	}
	if !reflect.DeepEqual(res.Image, wantImage) {
		t.Errorf("Image:\n got %+v\nwant %+v", res.Image, wantImage)
	}
	if len(res.Images) != 1 || res.Images[0] != res.Image {
		t.Errorf("Images: got %v, want [Image]", res.Images)
	}
	c := res.Container
	if c.Image != "dev" || c.Build != res.Image {
		t.Errorf("Container.Image, Build: got %q, %p, want %q, %p", c.Image, c.Build, "dev", res.Image)
	}
	if want := []model.Volume{{Source: dir, Target: "/src"}}; !reflect.DeepEqual(c.Volumes, want) {
		t.Errorf("Volumes: got %+v, want %+v", c.Volumes, want)
	}
	if c.Workdir != "/src" || c.RemoteUser != "dev" || c.User != "" || !c.KeepAlive {
		t.Errorf("Workdir, RemoteUser, User, KeepAlive: got %q, %q, %q, %v", c.Workdir, c.RemoteUser, c.User, c.KeepAlive)
	}
	if want := []string{dockerfile}; !reflect.DeepEqual(c.RebuildOn, want) {
		t.Errorf("RebuildOn: got %v, want %v", c.RebuildOn, want)
	}
	if want := []string{c.ConfigFile, dockerfile}; !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files: got %v, want %v", res.Files, want)
	}
	if want := []string{`.devcontainer/devcontainer.json:7:3: property build.cacheFrom is not supported by loop; ignored`}; !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("Warnings: got %q, want %q", res.Warnings, want)
	}
}

func TestLoad_legacyDockerFile(t *testing.T) {
	dir := newProject(t, map[string]string{
		".devcontainer.json": `{"dockerFile": "docker/dev.Dockerfile", "context": "docker"}`,
	})
	res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Image.Dockerfile, filepath.Join(dir, "docker", "dev.Dockerfile"); got != want {
		t.Errorf("Dockerfile: got %s, want %s", got, want)
	}
	if got, want := res.Image.Context, filepath.Join(dir, "docker"); got != want {
		t.Errorf("Context: got %s, want %s", got, want)
	}
}

func TestLoad_lifecycle(t *testing.T) {
	res, _ := loadTestdata(t, "lifecycle.jsonc", nil)
	want := &model.Lifecycle{
		Initialize: &model.Command{Argv: []string{"/bin/sh", "-c", "echo app"}},
		OnCreate:   &model.Command{Argv: []string{"make", "setup"}},
		PostCreate: &model.Command{Parallel: map[string][]string{
			"deps":  {"/bin/sh", "-c", "npm ci"},
			"tools": {"go", "install", "./tools"},
		}},
		PostStart:  &model.Command{Argv: []string{"/bin/sh", "-c", "echo started"}},
		PostAttach: &model.Command{Argv: []string{"echo", "/workspaces/app"}},
	}
	if !reflect.DeepEqual(res.Container.Lifecycle, want) {
		t.Errorf("Lifecycle:\n got %+v\nwant %+v", res.Container.Lifecycle, want)
	}
}

func TestLoad_runArgs(t *testing.T) {
	res, dir := loadTestdata(t, "runargs.jsonc", nil, "HOME_FROM_HOST=/home/me")
	c := res.Container
	if want := map[string]string{"A": "1", "B": "2", "C": "3", "HOME_FROM_HOST": "/home/me"}; !reflect.DeepEqual(res.Env, want) {
		t.Errorf("Env: got %v, want %v", res.Env, want)
	}
	wantPorts := []model.PortMap{{Host: 5000, Container: 5000, Protocol: "tcp"}, {Host: 6000, Container: 60, Protocol: "udp"}}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("Ports: got %+v, want %+v", c.Ports, wantPorts)
	}
	wantVolumes := []model.Volume{
		{Source: dir, Target: "/workspaces/app"},
		{Source: filepath.Join(dir, "logs"), Target: "/logs", ReadOnly: true},
		{Source: "npm", Target: "/root/.npm", Named: true},
	}
	if !reflect.DeepEqual(c.Volumes, wantVolumes) {
		t.Errorf("Volumes: got %+v, want %+v", c.Volumes, wantVolumes)
	}
	if want := []string{"NET_ADMIN", "SYS_PTRACE"}; !reflect.DeepEqual(c.CapAdd, want) {
		t.Errorf("CapAdd: got %v, want %v", c.CapAdd, want)
	}
	if !c.Privileged || !c.Init {
		t.Errorf("Privileged, Init: got %v, %v, want true, true", c.Privileged, c.Init)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("Warnings: got %q, want none", res.Warnings)
	}
}

func TestLoad_variables(t *testing.T) {
	dir := newProject(t, map[string]string{".devcontainer.json": `{
		"image": "alpine:3",
		"workspaceFolder": "/work/${localWorkspaceFolderBasename}",
		"containerEnv": {
			"LOCAL": "${localWorkspaceFolder}",
			"BASE": "${localWorkspaceFolderBasename}",
			"CFOLDER": "${containerWorkspaceFolder}",
			"CBASE": "${containerWorkspaceFolderBasename}",
			"SET": "${localEnv:SET}",
			"UNSET": "[${localEnv:UNSET}]",
			"DEFAULT": "${localEnv:UNSET:fallback}",
			"DEFAULT_COLON": "${localEnv:UNSET:http://x:1}",
			"ALIAS": "${env:SET}",
			"ID": "${devcontainerId}",
			"CONTAINER": "${containerEnv:PATH}",
			"UNKNOWN": "${nope} ${localEnv}",
		},
	}`})
	opts := Options{ProjectDir: dir, Name: "dev", Env: []string{"SET=yes", "SET=later"}}
	res, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"LOCAL":         dir,
		"BASE":          "app",
		"CFOLDER":       "/work/app",
		"CBASE":         "app",
		"SET":           "later",
		"UNSET":         "[]",
		"DEFAULT":       "fallback",
		"DEFAULT_COLON": "http://x:1",
		"ALIAS":         "later",
		"ID":            res.ID,
		"CONTAINER":     "${containerEnv:PATH}",
		"UNKNOWN":       "${nope} ${localEnv}",
	}
	if !reflect.DeepEqual(res.Env, want) {
		t.Errorf("Env:\n got %v\nwant %v", res.Env, want)
	}
	if !regexp.MustCompile(`^[a-z2-7]{52}$`).MatchString(res.ID) {
		t.Errorf("ID: got %q, want 52 base32 characters", res.ID)
	}
	again, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != res.ID {
		t.Errorf("ID is not stable: %q, then %q", res.ID, again.ID)
	}
	if got := devcontainerID(dir, filepath.Join(dir, "other.json")); got == res.ID {
		t.Errorf("ID does not depend on the config file")
	}
}

func TestLoad_workspaceFolderOnly(t *testing.T) {
	dir := newProject(t, map[string]string{".devcontainer.json": `{"image": "alpine:3", "workspaceFolder": "/workspaces/app/sub"}`})
	res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []model.Volume{{Source: dir, Target: "/workspaces/app"}}; !reflect.DeepEqual(res.Container.Volumes, want) {
		t.Errorf("Volumes: got %+v, want %+v", res.Container.Volumes, want)
	}
	if got, want := res.Container.Workdir, "/workspaces/app/sub"; got != want {
		t.Errorf("Workdir: got %q, want %q", got, want)
	}
}

// TestLoad_errors loads each testdata/errors/*.jsonc, whose first line is
// "// want: LINE:COL: substring of the message".
func TestLoad_errors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.jsonc")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	wantRE := regexp.MustCompile(`^// want: (\d+):(\d+): (.*)\n`)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".jsonc"), func(t *testing.T) {
			text := testdata(t, strings.TrimPrefix(file, "testdata/"))
			m := wantRE.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("%s: no // want: line", file)
			}
			dir := newProject(t, map[string]string{".devcontainer/devcontainer.json": text})
			_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load: got %v, want an *Error", err)
			}
			line, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			cfg := filepath.Join(dir, ".devcontainer", "devcontainer.json")
			if e.File != cfg || e.Line != line || e.Col != col {
				t.Errorf("position: got %s:%d:%d, want %s:%d:%d", e.File, e.Line, e.Col, cfg, line, col)
			}
			if !strings.Contains(e.Msg, m[3]) {
				t.Errorf("message: got %q, want it to contain %q", e.Msg, m[3])
			}
			if !strings.HasPrefix(err.Error(), cfg+":"+m[1]+":"+m[2]+": ") {
				t.Errorf("Error(): got %q, want the file:line:col prefix", err.Error())
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "/p/devcontainer.json", Line: 3, Col: 5, Msg: "bad", Hint: "fix it"}, "/p/devcontainer.json:3:5: bad (fix it)"},
		{&Error{File: "/p/devcontainer.json", Line: 3, Col: 5, Msg: "bad"}, "/p/devcontainer.json:3:5: bad"},
		{&Error{File: "/p", Msg: "none found", Hint: "pass path="}, "/p: none found (pass path=)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error(): got %q, want %q", got, tt.want)
		}
	}
}

func TestLoad_unsupportedRunArgHint(t *testing.T) {
	dir := newProject(t, map[string]string{".devcontainer.json": `{"image": "a", "runArgs": ["--network", "host"]}`})
	_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *Error", err)
	}
	for _, s := range []string{"--env/-e", "--publish/-p", "--volume/-v", "--cap-add", "--privileged", "--init"} {
		if !strings.Contains(e.Hint, s) {
			t.Errorf("hint %q does not list %s", e.Hint, s)
		}
	}
	if e.Line != 1 || e.Col != 28 {
		t.Errorf("position: got %d:%d, want 1:28", e.Line, e.Col)
	}
}

func TestLoad_warnings(t *testing.T) {
	dir := newProject(t, map[string]string{".devcontainer.json": `{
	"image": "a",
	"mounts": ["type=tmpfs,target=/tmp", "source=x,target=/x,volume-opt=o=1"],
	"appPort": "127.0.0.1:8080:80",
	"runArgs": ["-v", "cache:/cache:z", "-e=A=1"],
	"shutdownAction": "none",
	"waitFor": "postCreateCommand",
}`})
	res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`.devcontainer.json:3:13: mounts[0]: tmpfs mount at /tmp is not supported by loop; ignored`,
		`.devcontainer.json:3:39: mounts[1]: mount option "volume-opt" is not supported by loop; ignored`,
		`.devcontainer.json:4:13: appPort: host address 127.0.0.1 in "127.0.0.1:8080:80" is not supported by loop; ignored`,
		`.devcontainer.json:5:14: runArgs: volume option "z" is not supported by loop; ignored`,
		`.devcontainer.json:6:2: property shutdownAction is not supported by loop; ignored`,
		`.devcontainer.json:7:2: property waitFor is not supported by loop; ignored`,
	}
	if !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("Warnings:\n got %q\nwant %q", res.Warnings, want)
	}
	if want := map[string]string{"A": "1"}; !reflect.DeepEqual(res.Env, want) {
		t.Errorf("Env: got %v, want %v", res.Env, want)
	}
	if want := []int{8080}; !reflect.DeepEqual(res.Ports, want) {
		t.Errorf("Ports: got %v, want %v", res.Ports, want)
	}
}
