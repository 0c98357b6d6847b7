//go:build linux

package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/go-git/go-git/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/loopdev/loop/internal/registrytest"
)

// TestShip_RegistryAuth pushes to a registry that wants a login (htpasswd):
// without credentials `loop ship` fails saying `docker login HOST` and
// hands nothing off; with what `docker login` stores in config.json
// (auths[HOST].auth) the push succeeds.
func TestShip_RegistryAuth(t *testing.T) {
	requireDocker(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("ci:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.StartWith(t, fmt.Sprintf("auth:\n  htpasswd:\n    realm: loop-test\n    path: %s\n", htpasswd))
	repository := reg.Addr + "/team/api"
	cfgRepo := configRepo(t, repository)
	t.Cleanup(func() {
		if ids, err := dockerCmd("images", "-q", "--filter", "reference="+repository); err == nil && ids != "" {
			dockerCmd(append([]string{"image", "rm", "-f"}, strings.Fields(ids)...)...)
		}
	})

	e := newEnv(t, "shipauth")
	port := freePort(t)
	e.write("Loopfile", fmt.Sprintf(`
service("api", cmd = %s, env = {"PORT": "%d"}, deps = [], readiness = http_probe("http://127.0.0.1:%d/"))
ship("api", repository = %q, gitops = gitops(%q, path = "deploy/kustomization.yaml"))
`, serverCmd(), port, port, repository, cfgRepo))
	e.write("Dockerfile", "FROM "+baseImage+"\nCOPY app.txt /app.txt\n")
	e.write("app.txt", "v1\n")
	repo, err := git.PlainInit(e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "api v1")
	seed := headOf(t, cfgRepo)
	e.up()

	dockerConfig := t.TempDir() // no config.json: no credentials
	env := []string{"DOCKER_CONFIG=" + dockerConfig}
	r := e.loopWith(env, "ship")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "docker login "+reg.Addr) {
		t.Fatalf("loop ship without credentials: want a failure saying `docker login %s`, got %s", reg.Addr, r)
	}
	if headOf(t, cfgRepo).Hash != seed.Hash {
		t.Fatalf("a failed push still committed to the config repository")
	}

	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	writeTo(t, filepath.Join(dockerConfig, "config.json"), fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, reg.Addr, auth))
	r = e.loopWith(env, "ship")
	if r.code != 0 {
		t.Fatalf("loop ship with credentials: %s", r)
	}
	m := pushedRef.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("loop ship: no pushed digest in the output:\n%s", r)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+reg.Addr+"/v2/team/api/manifests/"+m[2], nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	req.SetBasicAuth("ci", "s3cret")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET the pushed manifest (logged in): %d, want 200", resp.StatusCode)
	}
	if !strings.Contains(fileAt(t, headOf(t, cfgRepo), "deploy/kustomization.yaml"), m[2]) {
		t.Errorf("the config repository does not pin %s", m[2])
	}
}
