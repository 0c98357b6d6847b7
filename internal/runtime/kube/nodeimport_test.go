package kube

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime/docker"
)

// TestNodeImport imports a Docker-built image into the nodes of a kind
// and a k3d cluster the way loopd does for a kind-NAME or k3d-NAME
// context. The nodes are stand-ins: containers labelled as kind and k3d
// label theirs, each running a real containerd (this host's) that
// `docker exec NODE ctr` reaches at its default socket. The kind cluster
// has a control-plane node and an (HA cluster's) external-load-balancer,
// the k3d cluster a server, an agent and a loadbalancer: the load
// balancers must be left alone.
func TestNodeImport(t *testing.T) {
	dr := docker.New(nil, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := dr.Ping(ctx); err != nil {
		requireDocker(t, err)
	}
	nodeImage := standinNodeImage(t, ctx)

	dir := serverContext(t)
	var out output.Buffer
	local, err := dr.Images().Build(ctx, "kubetest", &model.Image{Name: "loop-kubetest-server", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	id, _, err := dr.Images().Inspect(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	ref := pinnedRef("loop-kubetest-nodeimport-"+strconv.Itoa(os.Getpid()), id)
	if err := dr.Images().Tag(ctx, local, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", ref).Run() }) // the tag only

	name := "loopni-" + strconv.Itoa(os.Getpid())
	type container struct{ name, cluster, label, role string } // label: the cluster label, then role label=role
	kindNode := container{name + "-control-plane", name, "io.x-k8s.kind.cluster", "io.x-k8s.kind.role=control-plane"}
	kindLB := container{name + "-external-load-balancer", name, "io.x-k8s.kind.cluster", "io.x-k8s.kind.role=external-load-balancer"}
	k3dServer := container{"k3d-" + name + "-server-0", name, "k3d.cluster", "k3d.role=server"}
	k3dAgent := container{"k3d-" + name + "-agent-0", name, "k3d.cluster", "k3d.role=agent"}
	k3dLB := container{"k3d-" + name + "-serverlb", name, "k3d.cluster", "k3d.role=loadbalancer"}
	lonelyLB := container{"k3d-" + name + "-lb-serverlb", name + "-lb", "k3d.cluster", "k3d.role=loadbalancer"} // a cluster of no node
	containers := []container{kindNode, kindLB, k3dServer, k3dAgent, k3dLB, lonelyLB}
	var wg sync.WaitGroup
	errs := make([]error, len(containers))
	for i, c := range containers {
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", c.name).Run() })
		wg.Go(func() {
			errs[i] = startStandinNode(ctx, nodeImage, c.name, c.label+"="+c.cluster, c.role)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	for _, tt := range []struct {
		context     string
		nodes, left []container
	}{
		{"kind-" + name, []container{kindNode}, []container{kindLB}},
		{"k3d-" + name, []container{k3dServer, k3dAgent}, []container{k3dLB}},
	} {
		t.Run(strings.SplitN(tt.context, "-", 2)[0], func(t *testing.T) {
			imp, err := importerFor(&kube.Client{Context: tt.context}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Replace(tt.context, "-", " cluster ", 1); imp.String() != want {
				t.Errorf("importer = %s, want %s", imp, want)
			}
			if has, err := imp.Has(ctx, ref); err != nil || has {
				t.Fatalf("Has(%s) before the import = %v, %v; want false", ref, has, err)
			}
			start := time.Now()
			if err := imp.Import(ctx, ref, dr.Images(), &out); err != nil {
				t.Fatal(err)
			}
			t.Logf("imported %s into %s in %v", ref, imp, time.Since(start).Round(time.Millisecond))
			if has, err := imp.Has(ctx, ref); err != nil || !has {
				t.Fatalf("Has(%s) after the import = %v, %v; want true", ref, has, err)
			}
			for _, c := range tt.nodes {
				if imgs := nodeImages(t, ctx, c.name); !slices.Contains(imgs, normalized(ref)) {
					t.Errorf("ctr -n k8s.io images ls on node %s lists %q, want %s", c.name, imgs, normalized(ref))
				}
			}
			for _, c := range tt.left {
				if imgs := nodeImages(t, ctx, c.name); len(imgs) != 0 {
					t.Errorf("the %s container %s has images %q, want it skipped", c.role, c.name, imgs)
				}
			}
		})
	}

	t.Run("no nodes", func(t *testing.T) {
		imp, _ := nodeImporterFor("k3d-" + name + "-gone")
		_, err := imp.Has(ctx, ref)
		if want := "docker ps --filter label=k3d.cluster=" + name + "-gone` finds no running container"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Has on a cluster without containers = %v, want an error with %q", err, want)
		}
		if err == nil || !strings.Contains(err.Error(), "k3d cluster start "+name+"-gone") {
			t.Errorf("error %v says nothing about starting the cluster", err)
		}
		imp, _ = nodeImporterFor("k3d-" + lonelyLB.cluster)
		_, err = imp.Has(ctx, ref)
		if want := "finds no node (k3d.role=server or agent), only " + lonelyLB.name + " (k3d.role=loadbalancer)"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Has on a cluster of only a loadbalancer = %v, want an error with %q", err, want)
		}
	})
}

// requireDocker skips t for err (Docker is unusable), or fails it with
// LOOP_REQUIRE_DOCKER=1.
func requireDocker(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
		t.Fatal(err)
	}
	t.Skip(err)
}

// nodeImages is what ctr -n k8s.io images ls lists on node.
func nodeImages(t *testing.T, ctx context.Context, node string) []string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "exec", node, "ctr", "-n", criNamespace, "images", "ls", "-q").Output()
	if err != nil {
		t.Fatalf("ctr images ls on %s: %v", node, cmdErr(err))
	}
	return strings.Fields(string(out))
}

// startStandinNode runs a stand-in node container with labels and waits
// until its containerd answers ctr.
func startStandinNode(ctx context.Context, image, name string, labels ...string) error {
	// SYS_ADMIN: unpacking mounts the snapshots (--privileged is more
	// than some Docker hosts grant); containerd's root and state are
	// tmpfs, gone with the container.
	args := []string{"run", "-d", "--name", name, "--cap-add", "SYS_ADMIN", "--tmpfs", "/var/lib/containerd", "--tmpfs", "/run"}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	if out, err := exec.CommandContext(ctx, "docker", append(args, image)...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker run %s: %v: %s", name, err, bytes.TrimSpace(out))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, "docker", "exec", name, "ctr", "version").CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logs, _ := exec.Command("docker", "logs", "--tail", "20", name).CombinedOutput()
			return fmt.Errorf("containerd in %s does not answer: %v: %s\n%s", name, err, bytes.TrimSpace(out), logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// standinNodeConfig is the stand-in node's containerd: no CRI (nothing
// runs containers), its socket where ctr looks by default.
const standinNodeConfig = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "/run/containerd/containerd.sock"
`

// The native snapshotter unpacks with bind mounts (overlayfs would need
// a root other than the container's overlay); ctr picks it up from
// CONTAINERD_SNAPSHOTTER, which docker exec passes on.
const standinNodeDockerfile = `FROM scratch
COPY rootfs/ /
ENV CONTAINERD_SNAPSHOTTER=native
ENTRYPOINT ["/usr/bin/containerd", "--config", "/etc/containerd/config.toml"]
`

// standinNodeImage builds the stand-in node image from this host's
// containerd and ctr and the shared libraries they load (nothing can be
// pulled here). It is tagged with a hash of its content, so an unchanged
// host reuses it; it is kept for the next run.
func standinNodeImage(t *testing.T, ctx context.Context) string {
	t.Helper()
	files := map[string]string{} // path in the image -> host file
	for _, bin := range []string{"containerd", "ctr"} {
		path, err := exec.LookPath(bin)
		if err != nil {
			requireDocker(t, fmt.Errorf("no %s on this host for the stand-in kind/k3d node (Debian: apt-get install containerd): %v", bin, err))
		}
		files["/usr/bin/"+bin] = path
		libs, err := sharedLibs(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range libs {
			files[l] = l
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	type file struct {
		path string
		data []byte
		mode os.FileMode
	}
	var rootfs []file
	for _, p := range paths {
		data, err := os.ReadFile(files[p]) // a symlinked library: its target's content
		if err != nil {
			t.Fatal(err)
		}
		rootfs = append(rootfs, file{p, data, 0o755})
	}
	rootfs = append(rootfs, file{"/etc/containerd/config.toml", []byte(standinNodeConfig), 0o644})
	h := sha256.New()
	for _, f := range rootfs {
		fmt.Fprintf(h, "%s %o %d\n", f.path, f.mode, len(f.data))
		h.Write(f.data)
	}
	fmt.Fprint(h, standinNodeDockerfile)
	image := "loop-test/kube-node:" + hex.EncodeToString(h.Sum(nil))[:16]
	if exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil {
		return image
	}
	dir := t.TempDir()
	for _, f := range rootfs {
		dst := filepath.Join(dir, "rootfs", f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(standinNodeDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "build", "-q", "-t", image, dir).CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in node image: %v\n%s", err, out)
	}
	t.Logf("built the stand-in node image %s", image)
	return image
}

// sharedLibs are the absolute paths of the libraries ldd says bin loads
// (none for a static binary).
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, bytes.TrimSpace(out))
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2]) // libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0]) // /lib64/ld-linux-x86-64.so.2 (0x...)
		}
	}
	return libs, nil
}
