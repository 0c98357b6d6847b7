//go:build linux

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/loopdev/loop/internal/registrytest"
	"github.com/loopdev/loop/internal/store"
)

// deployServer implements docs/deploy-api.md: it checks the signature,
// treats a repeated Idempotency-Key as the same deployment and answers 503
// to the first attempt of each, to exercise the retry.
type deployServer struct {
	*httptest.Server
	mu          sync.Mutex
	attempts    int
	deployments map[string]map[string]any // by idempotency key
	reject      bool                      // answer 401
	badSigs     int
}

func startDeployServer(t *testing.T, secret string) *deployServer {
	d := &deployServer{deployments: map[string]map[string]any{}}
	seen := map[string]bool{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		d.mu.Lock()
		defer d.mu.Unlock()
		d.attempts++
		w.Header().Set("Content-Type", "application/json")
		key := r.Header.Get("Idempotency-Key")
		switch {
		case d.reject:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "token expired"}`)
			return
		case !hmac.Equal([]byte(r.Header.Get("X-Loop-Signature")), []byte(want)):
			d.badSigs++
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "bad signature"}`)
			return
		case key == "":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": "no Idempotency-Key"}`)
			return
		case !seen[key]:
			seen[key] = true
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error": "warming up"}`)
			return
		}
		if d.deployments[key] == nil {
			var req map[string]any
			if err := json.Unmarshal(body, &req); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			d.deployments[key] = req
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id": "dep-%d", "status": "deployed"}`, len(d.deployments))
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *deployServer) counts() (deployments, attempts int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.deployments), d.attempts
}

// configRepo is a bare git repository seeded with a kustomization.
func configRepo(t *testing.T, image string) string {
	t.Helper()
	seed := filepath.Join(t.TempDir(), "seed")
	repo, err := git.PlainInitWithOptions(seed, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	writeTo(t, filepath.Join(seed, "deploy/kustomization.yaml"), fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: %s
    newTag: old
`, image))
	commitAll(t, repo, "seed")
	bare := filepath.Join(t.TempDir(), "config.git")
	if _, err := git.PlainClone(bare, true, &git.CloneOptions{URL: seed}); err != nil {
		t.Fatal(err)
	}
	return bare
}

func writeTo(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func commitAll(t *testing.T, repo *git.Repository, msg string) string {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "Ada", Email: "ada@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// headOf returns the commit at refs/heads/main of a bare repository.
func headOf(t *testing.T, bare string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileAt(t *testing.T, c *object.Commit, path string) string {
	t.Helper()
	f, err := c.File(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var pushedRef = regexp.MustCompile(`pushed (\S+@(sha256:[0-9a-f]{64}))`)

func TestShip(t *testing.T) {
	requireDocker(t)
	reg := registrytest.Start(t)
	const secret = "s3cret"
	dep := startDeployServer(t, secret)
	repository := reg.Addr + "/team/web"
	cfgRepo := configRepo(t, repository)
	t.Cleanup(func() {
		if ids, err := dockerCmd("images", "-q", "--filter", "reference="+repository); err == nil && ids != "" {
			dockerCmd(append([]string{"image", "rm", "-f"}, strings.Fields(ids)...)...)
		}
	})

	e := newEnv(t, "shipweb")
	port := freePort(t)
	loopfile := func(testCmd string) string {
		return fmt.Sprintf(`
task("unit", cmd = %q, labels = ["test"], deps = [])
service("web", cmd = %s, env = {"PORT": "%d"}, deps = [], resource_deps = ["unit"],
        readiness = http_probe("http://127.0.0.1:%d/"))
ship("web", repository = %q,
     deploy_api = deploy_api(%q, secret = %q),
     gitops = gitops(%q, path = "deploy/kustomization.yaml"))
`, testCmd, serverCmd(), port, port, repository, dep.URL, secret, cfgRepo)
	}
	e.write("Loopfile", loopfile("true"))
	e.write("Dockerfile", "FROM "+baseImage+"\nCOPY app.txt /app.txt\nCMD [\"cat\", \"/app.txt\"]\n")
	e.write("app.txt", "v1\n")
	repo, err := git.PlainInit(e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{"git@example.com:team/web.git"}}); err != nil {
		t.Fatal(err)
	}
	commit := commitAll(t, repo, "web v1")
	seed := headOf(t, cfgRepo)
	e.up()

	// Ship: pushed by digest, deployed once (after a 503), committed to GitOps.
	r := e.loop("ship")
	if r.code != 0 {
		t.Fatalf("loop ship: %s", r)
	}
	t.Logf("loop ship:\n%s", r.stdout)
	m := pushedRef.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("loop ship: no pushed digest in the output:\n%s", r)
	}
	image, digest := m[1], m[2]
	if !strings.HasPrefix(image, repository+"@") {
		t.Errorf("pushed %s, want %s@sha256:...", image, repository)
	}
	if reg.Manifest(t, "team/web", digest) != digest {
		t.Errorf("the registry does not serve team/web@%s", digest)
	}
	deployments, attempts := dep.counts()
	if deployments != 1 || attempts != 2 {
		t.Errorf("deploy server: %d deployments in %d attempts, want 1 in 2 (a 503, then the retry)", deployments, attempts)
	}
	for _, req := range dep.deployments {
		if req["image"] != image || req["digest"] != digest || req["git_commit"] != commit || req["service"] != "web" || req["author"] != "Ada <ada@example.com>" ||
			req["git_remote"] != "git@example.com:team/web.git" {
			t.Errorf("deploy request = %v, want image %s, commit %s, the origin remote", req, image, commit)
		}
		if tests, _ := req["tests"].(map[string]any); tests == nil || tests["passed"] != float64(1) {
			t.Errorf("deploy request tests = %v, want 1 passed", req["tests"])
		}
	}
	head := headOf(t, cfgRepo)
	if head.Hash == seed.Hash {
		t.Fatalf("the config repository's main was not updated")
	}
	if !strings.Contains(fileAt(t, head, "deploy/kustomization.yaml"), digest) {
		t.Errorf("kustomization.yaml does not pin %s:\n%s", digest, fileAt(t, head, "deploy/kustomization.yaml"))
	}
	for _, want := range []string{"deploy web " + commit[:7], "Loop-Source-Commit: " + commit, "Loop-Image-Digest: " + digest} {
		if !strings.Contains(head.Message, want) {
			t.Errorf("config commit message lacks %q:\n%s", want, head.Message)
		}
	}

	// shipFails runs loop ship, wants it to fail mentioning want, and
	// checks nothing was handed off.
	shipFails := func(t *testing.T, step string, want ...string) {
		t.Helper()
		before := headOf(t, cfgRepo).Hash
		deps, _ := dep.counts()
		r := e.loop("ship")
		if r.code == 0 {
			t.Fatalf("loop ship: want a failure, got %s", r)
		}
		t.Logf("loop ship:\n%s", r.stderr)
		for _, w := range append([]string{"ship web: " + step}, want...) {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("loop ship: stderr lacks %q:\n%s", w, r)
			}
		}
		if after := headOf(t, cfgRepo).Hash; after != before {
			t.Errorf("a failed ship committed %s to the config repository", after)
		}
		if n, _ := dep.counts(); n != deps {
			t.Errorf("a failed ship made a deployment (%d, was %d)", n, deps)
		}
	}

	t.Run("dry run", func(t *testing.T) {
		before := headOf(t, cfgRepo).Hash
		r := e.mustLoop("ship", "--dry-run")
		t.Logf("loop ship --dry-run:\n%s", r.stdout)
		for _, want := range []string{"would push " + repository + ":" + commit[:7], "POST " + dep.URL, "X-Loop-Signature: sha256=", "+", "kustomization.yaml"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("loop ship --dry-run: stdout lacks %q:\n%s", want, r)
			}
		}
		if n, _ := dep.counts(); n != 1 {
			t.Errorf("a dry run deployed: %d deployments", n)
		}
		if headOf(t, cfgRepo).Hash != before {
			t.Error("a dry run committed to the config repository")
		}
	})

	t.Run("dirty tree", func(t *testing.T) {
		e.write("notes.txt", "wip")
		shipFails(t, "preconditions", "uncommitted", "notes.txt", "--allow-dirty")
		os.Remove(filepath.Join(e.dir, "notes.txt"))
	})

	t.Run("deploy API 401", func(t *testing.T) {
		e.write("app.txt", "v2\n")
		commitAll(t, repo, "web v2")
		dep.mu.Lock()
		dep.reject = true
		dep.mu.Unlock()
		defer func() { dep.mu.Lock(); dep.reject = false; dep.mu.Unlock() }()
		shipFails(t, "deploy", "token expired")
		// The image was pushed, but nobody was told: the push is harmless,
		// the config repository and the deploy server are untouched.
	})

	t.Run("registry down", func(t *testing.T) {
		e.write("app.txt", "v3\n")
		commitAll(t, repo, "web v3")
		reg.Stop()
		shipFails(t, "push", reg.Addr)
	})

	t.Run("failing test task", func(t *testing.T) {
		e.write("Loopfile", loopfile("echo 'FAIL: TestCart' >&2; exit 1"))
		commitAll(t, repo, "break the tests")
		if !poll(30*time.Second, func() bool { return e.resource("unit").State == "failed" }) {
			t.Fatalf("the unit task did not fail after the Loopfile change: %+v", e.resource("unit"))
		}
		shipFails(t, "preconditions", "unit failed")
	})

	// Every attempt is in the store: one shipped, four failed.
	st, err := store.Open(filepath.Join(e.home, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ships, err := st.Ships(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, s := range ships {
		outcomes = append(outcomes, s.Outcome)
	}
	if got := strings.Join(outcomes, ","); got != "shipped,dry-run,failed,failed,failed,failed" {
		t.Errorf("recorded outcomes = %s, want shipped, dry-run, then 4 failed", got)
	}
	if len(ships) > 0 && (ships[0].Digest != digest || ships[0].Commit != commit || ships[0].Finished.Before(ships[0].Started)) {
		t.Errorf("the shipped record = %+v", ships[0])
	}
}

// loop ci --junit writes the report also when ci fails; loop ci --ship
// ships after a good run (a pipeline's deploy stage).
func TestCI_JUnitAndShip(t *testing.T) {
	requireDocker(t)
	reg := registrytest.Start(t)
	dep := startDeployServer(t, "k")
	repository := reg.Addr + "/team/api"
	t.Cleanup(func() {
		if ids, err := dockerCmd("images", "-q", "--filter", "reference="+repository); err == nil && ids != "" {
			dockerCmd(append([]string{"image", "rm", "-f"}, strings.Fields(ids)...)...)
		}
	})
	e := newEnv(t, "ciship")
	loopfile := func(testCmd string) string {
		return fmt.Sprintf(`
task("unit", cmd = %q, labels = ["test"], deps = [])
task("build", cmd = "true", deps = [])
ship("build", repository = %q, deploy_api = deploy_api(%q, secret = "k"))
`, testCmd, repository, dep.URL)
	}
	e.write("Loopfile", loopfile("echo 'FAIL: TestCart <want 1>' >&2; exit 1"))
	e.write("Dockerfile", "FROM "+baseImage+"\n")
	e.write(".gitignore", "report.xml\n")
	repo, err := git.PlainInit(e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "red")
	report := filepath.Join(e.dir, "report.xml")

	r := e.loop("ci", "--timeout", "30s", "--junit", "report.xml", "--ship")
	if r.code == 0 {
		t.Fatalf("loop ci with a failing test: want a failure, got %s", r)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("loop ci --junit did not write the report when ci failed: %v\n%s", err, r)
	}
	for _, want := range []string{`<testcase name="unit"`, `<failure message="unit failed`, "FAIL: TestCart &lt;want 1&gt;"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.xml lacks %q:\n%s", want, b)
		}
	}
	if n, _ := dep.counts(); n != 0 {
		t.Errorf("a failed ci shipped: %d deployments", n)
	}

	e.write("Loopfile", loopfile("true"))
	commitAll(t, repo, "green")
	r = e.loop("ci", "--timeout", "30s", "--junit", "report.xml", "--ship")
	if r.code != 0 {
		t.Fatalf("loop ci --ship: %s", r)
	}
	if !strings.Contains(r.stdout, "build shipped "+repository+"@sha256:") {
		t.Errorf("loop ci --ship: no shipped image in the output:\n%s", r)
	}
	if n, _ := dep.counts(); n != 1 {
		t.Errorf("loop ci --ship: %d deployments, want 1", n)
	}
	b, _ = os.ReadFile(report)
	if !strings.Contains(string(b), `failures="0"`) || strings.Contains(string(b), "<failure") {
		t.Errorf("report.xml after a green run:\n%s", b)
	}
}
