package loopfile

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

func TestLoad_shipAllArgs(t *testing.T) {
	p, dir, err := fixture(t, map[string]string{
		"api/docker/Prod.file": "FROM scratch\n",
		"Loopfile": `
ship(
    "api",
    "registry.example.com/team/api",
    context = "api",
    dockerfile = "docker/Prod.file",
    target = "prod",
    build_args = {"GO_VERSION": "1.26"},
    deploy_api = deploy_api(
        "https://deploy.example.com/v1/deploy",
        token = env("DEPLOY_TOKEN"),
        secret = "s3cret",
        timeout = "1m",
    ),
    gitops = gitops(
        "git@github.com:org/config.git",
        "apps/api/deployment.yaml",
        branch = "deploy/prod",
        field = "spec.template.spec.containers[0].image",
        message = "ship {service} at {commit} ({digest}, {short})",
    ),
)
service("api", "go run .")
`}, Options{Env: []string{"DEPLOY_TOKEN=t0k3n"}})
	if err != nil {
		t.Fatal(err)
	}
	loopfile := filepath.Join(dir, "Loopfile")
	pos := model.Position{File: loopfile, Line: 2, Col: 1}
	want := []*model.Ship{{
		Resource: "api",
		Image: &model.Image{
			Name:       "api-ship",
			Context:    filepath.Join(dir, "api"),
			Dockerfile: filepath.Join(dir, "api/docker/Prod.file"),
			Target:     "prod",
			BuildArgs:  map[string]string{"GO_VERSION": "1.26"},
			Pos:        pos,
		},
		Repository: "registry.example.com/team/api",
		DeployAPI: &model.DeployAPI{
			URL:     "https://deploy.example.com/v1/deploy",
			Token:   "t0k3n",
			Secret:  "s3cret",
			Timeout: time.Minute,
		},
		GitOps: &model.GitOps{
			Repo:    "git@github.com:org/config.git",
			Branch:  "deploy/prod",
			Path:    "apps/api/deployment.yaml",
			Field:   "spec.template.spec.containers[0].image",
			Message: "ship {service} at {commit} ({digest}, {short})",
		},
		Pos: pos,
	}}
	if !reflect.DeepEqual(p.Ships, want) {
		t.Errorf("got\n%s\nwant\n%s", shipsString(p.Ships), shipsString(want))
	}
	if len(p.Images) != 0 {
		t.Errorf("got Images %+v, want none: a ship's image is not an image()", p.Images)
	}
}

func TestLoad_shipDefaults(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Dockerfile": "FROM scratch\n",
		"Loopfile": `
container("web", "nginx")
ship("web", "ghcr.io/org/web", gitops = gitops("../config", "web/kustomization.yaml"))
ship("worker", "ghcr.io/org/worker", deploy_api = deploy_api("http://localhost:9000"))
task("worker", "make")
`})
	loopfile := filepath.Join(dir, "Loopfile")
	img := func(name string, line int) *model.Image {
		return &model.Image{Name: name, Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
			Pos: model.Position{File: loopfile, Line: line, Col: 1}}
	}
	want := []*model.Ship{
		{
			Resource:   "web",
			Image:      img("web-ship", 3),
			Repository: "ghcr.io/org/web",
			GitOps: &model.GitOps{
				Repo:    filepath.Join(filepath.Dir(dir), "config"),
				Branch:  "main",
				Path:    "web/kustomization.yaml",
				Image:   "ghcr.io/org/web", // kustomize, named like the repository
				Message: "deploy {service} {short}",
			},
			Pos: model.Position{File: loopfile, Line: 3, Col: 1},
		},
		{
			Resource:   "worker",
			Image:      img("worker-ship", 4),
			Repository: "ghcr.io/org/worker",
			DeployAPI:  &model.DeployAPI{URL: "http://localhost:9000", Timeout: 30 * time.Second},
			Pos:        model.Position{File: loopfile, Line: 4, Col: 1},
		},
	}
	if !reflect.DeepEqual(p.Ships, want) {
		t.Errorf("got\n%s\nwant\n%s", shipsString(p.Ships), shipsString(want))
	}
}

func TestLoad_shipSharedDestinations(t *testing.T) {
	// One gitops() and one deploy_api() value serve several ships; each
	// ship gets its own copy, completed with its own repository.
	p, _ := mustLoad(t, map[string]string{
		"Dockerfile": "FROM scratch\n",
		"Loopfile": `
API = deploy_api("https://deploy.example.com")
CONFIG = gitops("https://github.com/org/config.git", "kustomization.yaml")
print(API, CONFIG, type(API), type(CONFIG))
for name in ["a", "b"]:
    service(name, "true")
    ship(name, "registry.example.com/" + name, deploy_api = API, gitops = CONFIG)
`})
	if len(p.Ships) != 2 {
		t.Fatalf("got %d ships, want 2", len(p.Ships))
	}
	a, b := p.Ships[0], p.Ships[1]
	if a.DeployAPI == b.DeployAPI || a.GitOps == b.GitOps {
		t.Error("ships share a destination pointer, want copies")
	}
	if got, want := []string{a.GitOps.Image, b.GitOps.Image}, []string{"registry.example.com/a", "registry.example.com/b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got kustomize images %q, want %q", got, want)
	}
}

func TestLoad_shipValuesPrint(t *testing.T) {
	var out syncBuffer
	_, _, err := fixture(t, map[string]string{"Loopfile": `
print(deploy_api("https://deploy.example.com", token = "secret-token", secret = "k"), type(deploy_api("http://x")))
print(gitops("git@host:org/config.git", "apps/api.yaml", field = "image"), type(gitops("/srv/config", "a.yaml")))
`}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	want := `deploy_api("https://deploy.example.com") deploy_api` + "\n" +
		`gitops("git@host:org/config.git", "apps/api.yaml") gitops` + "\n"
	if got := out.String(); got != want {
		t.Errorf("got %q, want %q (no token or secret)", got, want)
	}
}

func TestLoad_gitopsValues(t *testing.T) {
	tests := []struct {
		name string
		args string // gitops() arguments
		get  func(g *model.GitOps) string
		want string // "$DIR" is the project directory
	}{
		{"https repo", `"https://github.com/org/config.git", "a.yaml"`, gitRepo, "https://github.com/org/config.git"},
		{"http repo", `"http://git.local/config.git", "a.yaml"`, gitRepo, "http://git.local/config.git"},
		{"ssh repo", `"ssh://git@host:2222/org/config.git", "a.yaml"`, gitRepo, "ssh://git@host:2222/org/config.git"},
		{"scp-like repo", `"git@github.com:org/config.git", "a.yaml"`, gitRepo, "git@github.com:org/config.git"},
		{"file repo", `"file:///srv/git/config.git", "a.yaml"`, gitRepo, "file:///srv/git/config.git"},
		{"relative local repo", `"deploy/config", "a.yaml"`, gitRepo, "$DIR/deploy/config"},
		{"dot-relative local repo", `"./config/", "a.yaml"`, gitRepo, "$DIR/config"},
		{"absolute local repo", strconv.Quote(hostPath("/srv/config")) + `, "a.yaml"`, gitRepo, hostPath("/srv/config")},
		{"drive letter: local on Windows only", `"C:/srv/config", "a.yaml"`, gitRepo, byOS("C:/srv/config", `C:\srv\config`)},
		{"path cleaned", `"/r", "./apps//api/kustomization.yaml"`, func(g *model.GitOps) string { return g.Path }, "apps/api/kustomization.yaml"},
		{"kustomize image name", `"/r", "k.yaml", image = "api"`, func(g *model.GitOps) string { return g.Image + "|" + g.Field }, "api|"},
		{"field", `"/r", "values.yaml", field = "image.repository"`, func(g *model.GitOps) string { return g.Image + "|" + g.Field }, "|image.repository"},
		{"field with index", `"/r", "d.yaml", field = "spec.containers[0].image"`, func(g *model.GitOps) string { return g.Field }, "spec.containers[0].image"},
		{"message without placeholders", `"/r", "a.yaml", message = "bump"`, func(g *model.GitOps) string { return g.Message }, "bump"},
		{"branch with slash", `"/r", "a.yaml", branch = "env/staging"`, func(g *model.GitOps) string { return g.Branch }, "env/staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, dir := mustLoad(t, map[string]string{
				"Dockerfile": "FROM scratch\n",
				"Loopfile":   "service(\"s\", \"true\")\nship(\"s\", \"r.example.com/s\", gitops = gitops(" + tt.args + "))\n",
			})
			want := tt.want
			if rest, ok := strings.CutPrefix(want, "$DIR/"); ok {
				want = filepath.Join(dir, rest)
			}
			if got := tt.get(p.Ships[0].GitOps); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func gitRepo(g *model.GitOps) string { return g.Repo }

func TestLoad_shipRepositories(t *testing.T) {
	for _, repo := range []string{
		"api",
		"team/api",
		"registry.example.com/team/api",
		"localhost:5000/api",
		"127.0.0.1:5000/team/sub/api",
	} {
		t.Run(repo, func(t *testing.T) {
			p, _ := mustLoad(t, map[string]string{
				"Dockerfile": "FROM scratch\n",
				"Loopfile":   "service(\"s\", \"true\")\nship(\"s\", \"" + repo + "\", deploy_api = deploy_api(\"https://d.example.com\"))\n",
			})
			if got := p.Ships[0].Repository; got != repo {
				t.Errorf("got %q, want %q as written", got, repo)
			}
		})
	}
}

// shipsString renders ships with what their pointers point to.
func shipsString(ships []*model.Ship) string {
	var b strings.Builder
	for _, sh := range ships {
		fmt.Fprintf(&b, "%+v\n  image: %+v\n  deploy_api: %+v\n  gitops: %+v\n", *sh, sh.Image, sh.DeployAPI, sh.GitOps)
	}
	return b.String()
}
