package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

func TestRuntime_PingUnavailable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	r := New(nil, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.Ping(ctx)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"unix:///nonexistent/docker.sock", "systemctl start docker", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCurrentEndpoint(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_CONTEXT", "")
	sum := sha256.Sum256([]byte("remote"))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	writeFile(t, meta, `{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://build-host:2375","SkipTLSVerify":false}}}`)

	if got, err := contextHostOf(); err != nil || got != "" {
		t.Errorf("no config: contextHost = %q, %v; want default", got, err)
	}
	writeFile(t, filepath.Join(dir, "config.json"), `{"currentContext":"remote"}`)
	if got, err := contextHostOf(); err != nil || got != "tcp://build-host:2375" {
		t.Errorf("currentContext: contextHost = %q, %v; want tcp://build-host:2375", got, err)
	}
	t.Setenv("DOCKER_CONTEXT", "default")
	if got, err := contextHostOf(); err != nil || got != "" {
		t.Errorf("DOCKER_CONTEXT=default: contextHost = %q, %v; want default", got, err)
	}
	t.Setenv("DOCKER_CONTEXT", "missing")
	if _, err := contextHostOf(); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing context: err = %v", err)
	}
	t.Setenv("DOCKER_HOST", "unix:///x.sock")
	if got, err := contextHostOf(); err != nil || got != "" {
		t.Errorf("DOCKER_HOST set: contextHost = %q, %v; want FromEnv to decide", got, err)
	}
}

func TestContextFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "main.go", "node_modules/a/index.js", "docs/a.md", "docs/keep.md", "tmp/x", "build/out"} {
		writeFile(t, filepath.Join(dir, f), f)
	}
	writeFile(t, filepath.Join(dir, ".dockerignore"), "# comment\nnode_modules\ndocs\n!docs/keep.md\nDockerfile\n.dockerignore\n")
	img := &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Ignore: []string{"tmp/"}}
	bc, err := contextFiles(img)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range bc.names() {
		got[f] = true
	}
	for _, want := range []string{"Dockerfile", ".dockerignore", "main.go", "docs/keep.md", "build/out"} {
		if !got[want] {
			t.Errorf("%s missing from the context %v", want, bc.names())
		}
	}
	for _, not := range []string{"node_modules/a/index.js", "docs/a.md", "tmp/x"} {
		if got[not] {
			t.Errorf("%s is in the context though ignored", not)
		}
	}

	h1, err := bc.hash(img)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tmp/x"), "changed")
	if h2, _ := mustContext(t, img).hash(img); h2 != h1 {
		t.Errorf("an ignored file changed the hash")
	}
	writeFile(t, filepath.Join(dir, "main.go"), "changed")
	if h3, _ := mustContext(t, img).hash(img); h3 == h1 {
		t.Errorf("a changed file kept the hash")
	}
	h4, _ := mustContext(t, img).hash(img)
	img.BuildArgs = map[string]string{"V": "1"}
	if h5, _ := mustContext(t, img).hash(img); h5 == h4 {
		t.Errorf("a build arg kept the hash")
	}
}

// names lists the paths of bc's files, in tar order.
func (bc *buildContext) names() []string {
	var names []string
	for _, e := range bc.entries {
		names = append(names, e.name)
	}
	return names
}

func mustContext(t *testing.T, img *model.Image) *buildContext {
	t.Helper()
	bc, err := contextOf(img)
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

func TestContextFiles_ExternalDockerfile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ctx", "a"), "a")
	writeFile(t, filepath.Join(dir, "docker", "app.Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(dir, "docker", "app.Dockerfile.dockerignore"), "a\n")
	bc := mustContext(t, &model.Image{Context: filepath.Join(dir, "ctx"), Dockerfile: filepath.Join(dir, "docker", "app.Dockerfile")})
	if !strings.HasPrefix(bc.dockerfile, ".dockerfile.") {
		t.Errorf("external Dockerfile: %+v", bc)
	}
	if got := bc.names(); !slices.Equal(got, []string{bc.dockerfile}) {
		t.Errorf("files = %v; want the Dockerfile only: its own .dockerignore excludes a", got)
	}
}

func TestSignalExit(t *testing.T) {
	for _, tc := range []struct {
		code int
		oom  bool
		want string
	}{
		{0, false, "exited 0"},
		{3, false, "exited 3"},
		{137, false, "killed by SIGKILL"},
		{143, false, "killed by SIGTERM"},
		{1, true, "killed by SIGKILL"},
	} {
		if got := signalExit(tc.code, tc.oom).String(); got != tc.want {
			t.Errorf("signalExit(%d, %v) = %s, want %s", tc.code, tc.oom, got, tc.want)
		}
	}
}

func TestImageTag(t *testing.T) {
	if got, want := imageTag("My Project", "web_App", "0123456789abcdef"), "loop/my-project-web_app:0123456789abcdef"; got != want {
		t.Errorf("imageTag = %q, want %q", got, want)
	}
}

// contextHostOf is currentEndpoint's host, for TestCurrentEndpoint.
func contextHostOf() (string, error) {
	ep, err := currentEndpoint()
	return ep.Host, err
}

func TestHostPathOf(t *testing.T) {
	rules := []model.SyncRule{
		{Local: "/p/www", Remote: "/www"},
		{Local: "/p/assets", Remote: "/www/static/"},
		{Local: "/p/root", Remote: "/"},
	}
	for _, tc := range []struct {
		remote, want string
		ok           bool
	}{
		{"/www/a.txt", "/p/www/a.txt", true},
		{"/www", "/p/www", true},
		{"/www/static/x.css", "/p/assets/x.css", true}, // the most specific rule
		{"/www2/a.txt", "/p/root/www2/a.txt", true},    // not under /www
		{"/etc/passwd", "/p/root/etc/passwd", true},
	} {
		got, ok := hostPathOf(rules, tc.remote)
		if got != tc.want || ok != tc.ok {
			t.Errorf("hostPathOf(%q) = %q, %v; want %q, %v", tc.remote, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := hostPathOf(rules[:2], "/www2/a.txt"); ok {
		t.Errorf("hostPathOf(/www2/a.txt) without a / rule = %q, want no match", got)
	}
}

// TestLinuxArch: the supervisor's architecture is the engine's; an engine
// running Windows containers, or one that does not say, is refused.
func TestLinuxArch(t *testing.T) {
	for _, tc := range []struct{ os, arch, want, err string }{
		{"linux", "amd64", "amd64", ""},
		{"linux", "arm64", "arm64", ""},
		{"", "arm64", "arm64", ""},
		{"windows", "amd64", "", "runs windows containers"},
		{"linux", "", "", "did not say its architecture"},
	} {
		got, err := linuxArch(tc.os, tc.arch, "npipe:////./pipe/docker_engine")
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("linuxArch(%q, %q) = %q, %v; want %q, error containing %q", tc.os, tc.arch, got, err, tc.want, tc.err)
		}
	}
}
