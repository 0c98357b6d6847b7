package kube

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/registrytest"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/docker"
)

func TestRegistryImporter_Ref(t *testing.T) {
	imp, err := newRegistryImporter("localhost:5000/dev")
	if err != nil {
		t.Fatal(err)
	}
	for pinned, want := range map[string]string{
		"web:loop-0123":              "localhost:5000/dev/web:loop-0123",
		"loop/my-app:loop-0123":      "localhost:5000/dev/loop/my-app:loop-0123",
		"ghcr.io/acme/api:loop-0123": "localhost:5000/dev/acme/api:loop-0123",
	} {
		if got := imp.Ref(pinned); got != want {
			t.Errorf("Ref(%s) = %s, want %s", pinned, got, want)
		}
	}
}

func TestImporterFor(t *testing.T) {
	tests := []struct {
		context, how, env string
		want, wantErr     string
	}{
		{"loop-test", "containerd:///run/c.sock", "", "containerd /run/c.sock", ""},
		{"kind-dev", "", "", "kind cluster dev", ""},
		{"k3d-dev", "", "", "k3d cluster dev", ""},
		{"k3d-dev", "", ContainerdEnv + "=/run/x.sock", "k3d cluster dev", ""},
		{"k3d-dev", "containerd:///run/c.sock", "", "containerd /run/c.sock", ""},
		{"k3d-", "", ContainerdEnv + "=/run/x.sock", "containerd /run/x.sock", ""},
		{"loop-test", "", ContainerdEnv + "=/run/x.sock", "containerd /run/x.sock", ""},
		{"loop-test", "registry://localhost:5000/dev", "", "registry localhost:5000/dev", ""},
		{"kind-dev", "registry://reg.example.com:5000/team/dev/", "", "registry reg.example.com:5000/team/dev", ""},
		{"loop-test", "registry://dev", "", "", "want registry://HOST[:PORT]/PREFIX"},
		{"loop-test", "ftp://x", "", "", "want containerd://SOCKET"},
	}
	for _, tt := range tests {
		t.Setenv(ContainerdEnv, "")
		imp, err := importerFor(&kube.Client{Context: tt.context}, &model.Cluster{ImageImport: tt.how}, []string{tt.env})
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("importerFor(%s, %q) = %v, want an error with %q", tt.context, tt.how, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("importerFor(%s, %q): %v", tt.context, tt.how, err)
		case imp.String() != tt.want:
			t.Errorf("importerFor(%s, %q) = %s, want %s", tt.context, tt.how, imp, tt.want)
		}
	}
	t.Setenv(ContainerdEnv, "")
	if _, err := importerFor(&kube.Client{Context: "loop-test"}, nil, nil); err == nil || !strings.Contains(err.Error(), ContainerdEnv) {
		t.Errorf("importerFor(no way) = %v, want an error naming %s", err, ContainerdEnv)
	}
}

// TestPin_Containerd builds the test server with Docker, pins it and
// imports it into a throwaway namespace of Docker's own containerd: a
// second pin finds it there and imports nothing.
func TestPin_Containerd(t *testing.T) {
	addr := "/var/run/docker/containerd/containerd.sock"
	if _, err := os.Stat(addr); err != nil {
		t.Skipf("no containerd at %s: %v", addr, err)
	}
	dr := docker.New(nil, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := dr.Ping(ctx); err != nil {
		requireDocker(t, err)
	}
	ns := "loop-kubetest-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { removeNamespace(t, addr, ns) })
	imp := &countingImporter{importer: containerdImporter{addr: addr, ns: ns}}
	dir := serverContext(t)
	d := &deploy{r: &Runtime{Images: dr.Images()}, spec: runtime.Spec{Project: "kubetest"}, imp: imp}
	img := &model.Image{Name: "loop-kubetest-server", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	b, err := d.image(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Ref, "loop-kubetest-server:loop-") || len(b.Ref) != len("loop-kubetest-server:loop-")+16 {
		t.Errorf("pinned ref = %q, want loop-kubetest-server:loop-<16 hex>", b.Ref)
	}
	if got := strings.Join(b.Config.Entrypoint, " "); got != "/server" {
		t.Errorf("entrypoint = %q, want /server", got)
	}
	if has, err := imp.Has(ctx, b.Ref); err != nil || !has {
		t.Fatalf("containerd has %s = %v, %v; want it imported", b.Ref, has, err)
	}
	d.r = &Runtime{Images: dr.Images()} // a new loopd: nothing remembered
	if _, err := d.image(ctx, img); err != nil {
		t.Fatal(err)
	}
	if imp.imports != 1 {
		t.Errorf("imports = %d, want 1 (the second start finds the image)", imp.imports)
	}
}

type countingImporter struct {
	importer
	imports int
}

func (c *countingImporter) Import(ctx context.Context, ref string, images Builder, out io.Writer) error {
	c.imports++
	return c.importer.Import(ctx, ref, images, out)
}

// TestPin_Registry: with image_import registry://HOST/PREFIX the image is
// pushed to that registry under the prefix, and its pinned reference is
// the registry's.
func TestPin_Registry(t *testing.T) {
	dr := docker.New(nil, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := dr.Ping(ctx); err != nil {
		requireDocker(t, err)
	}
	reg := registrytest.Start(t)
	imp, err := importerFor(&kube.Client{Context: "loop-test"}, &model.Cluster{ImageImport: "registry://" + reg.Addr + "/dev/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := serverContext(t)
	var out output.Buffer
	d := &deploy{r: &Runtime{Images: dr.Images()}, spec: runtime.Spec{Project: "kubetest", Stdout: &out}, imp: imp}
	b, err := d.image(ctx, &model.Image{Name: "loop-kubetest-server", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	repo, tag, _ := strings.Cut(strings.TrimPrefix(b.Ref, reg.Addr+"/"), ":")
	if repo != "dev/loop-kubetest-server" || !strings.HasPrefix(tag, "loop-") {
		t.Fatalf("pinned ref = %q, want %s/dev/loop-kubetest-server:loop-<id>", b.Ref, reg.Addr)
	}
	if reg.Manifest(t, repo, tag) == "" {
		t.Errorf("the registry has no %s:%s after the pin\n%s", repo, tag, out.String())
	}
	exec.Command("docker", "rmi", b.Ref).Run() // the tag only: the image stays for the other tests
}

// removeNamespace deletes the images of ns and ns itself.
func removeNamespace(t *testing.T, addr, ns string) {
	cli, err := client.New(addr, client.WithDefaultNamespace(ns))
	if err != nil {
		t.Error(err)
		return
	}
	defer cli.Close()
	ctx := namespaces.WithNamespace(context.Background(), ns)
	list, err := cli.ImageService().List(ctx)
	if err != nil {
		t.Error(err)
	}
	for _, img := range list {
		if err := cli.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil {
			t.Error(err)
		}
	}
	if err := cli.NamespaceService().Delete(ctx, ns); err != nil {
		t.Logf("delete containerd namespace %s: %v", ns, err)
	}
}
