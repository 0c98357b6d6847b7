package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
)

// criNamespace is the containerd namespace the kubelet's images live in.
const criNamespace = "k8s.io"

// ContainerdEnv names the containerd socket of the cluster's node when
// kubernetes(image_import=...) says nothing and the cluster is not kind.
const ContainerdEnv = "LOOP_K8S_CONTAINERD"

// importerFor says how images reach c's nodes: cluster.ImageImport, else
// a kind cluster's node containers, else $LOOP_K8S_CONTAINERD (env, then
// loopd's environment).
func importerFor(c *kube.Client, cluster *model.Cluster, env []string) (importer, error) {
	how := ""
	if cluster != nil {
		how = cluster.ImageImport
	}
	switch {
	case strings.HasPrefix(how, "containerd://"):
		return containerdImporter{addr: strings.TrimPrefix(how, "containerd://")}, nil
	case strings.HasPrefix(how, "registry://"):
		return newRegistryImporter(strings.TrimPrefix(how, "registry://"))
	case how != "":
		return nil, fmt.Errorf("image_import %q: want containerd://SOCKET, registry://HOST/PREFIX or \"\" (detect)", how)
	}
	if name, ok := strings.CutPrefix(c.Context, "kind-"); ok {
		return kindImporter{cluster: name}, nil
	}
	if addr := lookupEnv(env, ContainerdEnv); addr != "" {
		return containerdImporter{addr: strings.TrimPrefix(addr, "containerd://")}, nil
	}
	return nil, fmt.Errorf("cannot tell how images reach the nodes of cluster %s: set kubernetes(image_import=\"containerd://SOCKET\") to the node's containerd socket, or %s", c.Context, ContainerdEnv)
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return os.Getenv(key)
}

// containerdImporter imports into the k8s.io namespace of a node's
// containerd that loopd can reach (a single-node cluster on this host).
type containerdImporter struct {
	addr string
	ns   string // "" = k8s.io (tests use their own)
}

func (i containerdImporter) String() string { return "containerd " + i.addr }

func (i containerdImporter) connect(ctx context.Context) (*client.Client, context.Context, error) {
	ns := i.ns
	if ns == "" {
		ns = criNamespace
	}
	cli, err := client.New(i.addr, client.WithDefaultNamespace(ns), client.WithTimeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to containerd at %s: %w (is it the cluster node's, and may loopd open it?)", i.addr, err)
	}
	return cli, namespaces.WithNamespace(ctx, ns), nil
}

func (i containerdImporter) Has(ctx context.Context, ref string) (bool, error) {
	cli, ctx, err := i.connect(ctx)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	_, err = cli.ImageService().Get(ctx, normalized(ref))
	switch {
	case errdefs.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

func (containerdImporter) Ref(pinned string) string { return pinned }

func (i containerdImporter) Import(ctx context.Context, ref string, images Builder, _ io.Writer) error {
	cli, ctx, err := i.connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	tar, err := images.Save(ctx, ref)
	if err != nil {
		return err
	}
	defer tar.Close()
	imgs, err := cli.Import(ctx, tar)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if err := client.NewImage(cli, img).Unpack(ctx, ""); err != nil {
			return fmt.Errorf("unpack %s: %w", img.Name, err)
		}
	}
	return nil
}

// normalized is ref as containerd and the kubelet name it
// ("app:1" is "docker.io/library/app:1").
func normalized(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return n.String()
}

// kindImporter imports into every node container of a kind cluster
// (`docker exec NODE ctr -n k8s.io images import -`).
type kindImporter struct{ cluster string }

func (i kindImporter) String() string { return "kind cluster " + i.cluster }

func (i kindImporter) nodes(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "--filter", "label=io.x-k8s.kind.cluster="+i.cluster, "--format", "{{.Names}}").Output()
	if err != nil {
		return nil, fmt.Errorf("list the nodes of kind cluster %s: %w", i.cluster, cmdErr(err))
	}
	nodes := strings.Fields(string(out))
	if len(nodes) == 0 {
		return nil, fmt.Errorf("kind cluster %s has no running node containers (docker ps --filter label=io.x-k8s.kind.cluster=%s)", i.cluster, i.cluster)
	}
	return nodes, nil
}

func (i kindImporter) Has(ctx context.Context, ref string) (bool, error) {
	nodes, err := i.nodes(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range nodes {
		out, err := exec.CommandContext(ctx, "docker", "exec", n, "ctr", "-n", criNamespace, "images", "ls", "-q", "name=="+normalized(ref)).Output()
		if err != nil {
			return false, fmt.Errorf("list images on node %s: %w", n, cmdErr(err))
		}
		if strings.TrimSpace(string(out)) == "" {
			return false, nil
		}
	}
	return true, nil
}

func (kindImporter) Ref(pinned string) string { return pinned }

func (i kindImporter) Import(ctx context.Context, ref string, images Builder, _ io.Writer) error {
	nodes, err := i.nodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		tar, err := images.Save(ctx, ref)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "docker", "exec", "-i", n, "ctr", "-n", criNamespace, "images", "import", "--digests", "-")
		cmd.Stdin = tar
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		tar.Close()
		if err != nil {
			return fmt.Errorf("import on node %s: %w: %s", n, err, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

// registryImporter pushes images to a registry the cluster pulls from,
// under a prefix: web:loop-ID is pushed as HOST/PREFIX/web:loop-ID.
type registryImporter struct {
	repo string // HOST[:PORT]/PREFIX, or HOST[:PORT]
}

func newRegistryImporter(repo string) (registryImporter, error) {
	repo = strings.TrimSuffix(repo, "/")
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil || reference.Domain(named) == "docker.io" && !strings.HasPrefix(repo, "docker.io/") {
		return registryImporter{}, fmt.Errorf("image_import %q: want registry://HOST[:PORT]/PREFIX, e.g. registry://localhost:5000/dev", "registry://"+repo)
	}
	return registryImporter{repo: named.Name()}, nil
}

func (i registryImporter) String() string { return "registry " + i.repo }

// Ref is pinned under the registry's prefix (its own domain dropped).
func (i registryImporter) Ref(pinned string) string {
	named, err := reference.ParseNormalizedNamed(pinned)
	if err != nil {
		return i.repo + "/" + pinned
	}
	ref := i.repo + "/" + strings.TrimPrefix(reference.Path(named), "library/")
	if t, ok := named.(reference.Tagged); ok {
		ref += ":" + t.Tag()
	}
	return ref
}

// Has is false: a push of layers the registry has already sends only
// the manifest, and a runtime pushes each reference once.
func (registryImporter) Has(context.Context, string) (bool, error) { return false, nil }

func (i registryImporter) Import(ctx context.Context, ref string, images Builder, out io.Writer) error {
	_, err := images.Push(ctx, ref, out)
	return err
}

// cmdErr adds a failed command's stderr to its error.
func cmdErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
