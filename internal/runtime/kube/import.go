package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
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
// kubernetes(image_import=...) says nothing and the cluster is not a
// kind or k3d one.
const ContainerdEnv = "LOOP_K8S_CONTAINERD"

// importerFor says how images reach c's nodes: cluster.ImageImport, else
// the node containers of a kind or k3d cluster (context kind-NAME or
// k3d-NAME), else $LOOP_K8S_CONTAINERD (env, then loopd's environment).
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
	if imp, ok := nodeImporterFor(c.Context); ok {
		return imp, nil
	}
	if addr := lookupEnv(env, ContainerdEnv); addr != "" {
		return containerdImporter{addr: strings.TrimPrefix(addr, "containerd://")}, nil
	}
	return nil, fmt.Errorf("cannot tell how images reach the nodes of cluster %s (not a kind-NAME or k3d-NAME context): set kubernetes(image_import=\"containerd://SOCKET\") to the node's containerd socket, or %s", c.Context, ContainerdEnv)
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

// nodeClusters are the local cluster tools whose nodes are Docker
// containers, each running the containerd the kubelet uses.
var nodeClusters = []nodeCluster{
	// kind's nodes: NAME-control-plane, NAME-worker...; an HA cluster's
	// external-load-balancer runs no containerd.
	{tool: "kind", label: "io.x-k8s.kind.cluster", roleLabel: "io.x-k8s.kind.role", roles: []string{"control-plane", "worker"},
		start: "start its node containers (`docker start %[1]s-control-plane`) or recreate it (`kind create cluster --name %[1]s`)"},
	// k3d's nodes: k3d-NAME-server-0, k3d-NAME-agent-0...; its
	// loadbalancer (k3d-NAME-serverlb) and registry containers are no nodes.
	{tool: "k3d", label: "k3d.cluster", roleLabel: "k3d.role", roles: []string{"server", "agent"},
		start: "start it (`k3d cluster start %s`)"},
}

// nodeCluster is how one tool marks its node containers.
type nodeCluster struct {
	tool      string   // the context is TOOL-NAME
	label     string   // every container of cluster NAME has label=NAME
	roleLabel string   // ... and roleLabel=ROLE
	roles     []string // the ROLEs that are Kubernetes nodes
	start     string   // what to do when none runs (%[1]s: the cluster's name)
}

// nodeImporterFor is the importer for context's cluster when its name
// says a tool of nodeClusters made it.
func nodeImporterFor(context string) (nodeImporter, bool) {
	for _, nc := range nodeClusters {
		if name, ok := strings.CutPrefix(context, nc.tool+"-"); ok && name != "" {
			return nodeImporter{nodeCluster: nc, cluster: name}, true
		}
	}
	return nodeImporter{}, false
}

// nodeImporter imports into every node container of a kind or k3d
// cluster: `docker exec -i NODE ctr -n k8s.io images import --digests -`.
type nodeImporter struct {
	nodeCluster
	cluster string
}

func (i nodeImporter) String() string { return i.tool + " cluster " + i.cluster }

// nodes are the names of the cluster's running node containers.
func (i nodeImporter) nodes(ctx context.Context) ([]string, error) {
	filter := "label=" + i.label + "=" + i.cluster
	out, err := exec.CommandContext(ctx, "docker", "ps", "--filter", filter, "--format", `{{.Names}}\t{{.Label "`+i.roleLabel+`"}}`).Output()
	if err != nil {
		return nil, fmt.Errorf("list the nodes of %s: docker ps --filter %s: %w", i, filter, cmdErr(err))
	}
	var nodes, others []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, role, _ := strings.Cut(line, "\t")
		switch {
		case name == "":
		case slices.Contains(i.roles, role):
			nodes = append(nodes, name)
		default:
			others = append(others, fmt.Sprintf("%s (%s=%s)", name, i.roleLabel, role))
		}
	}
	if len(nodes) == 0 {
		found := "finds no running container"
		if len(others) > 0 {
			found = "finds no node (" + i.roleLabel + "=" + strings.Join(i.roles, " or ") + "), only " + strings.Join(others, ", ")
		}
		return nil, fmt.Errorf("%s has no running node containers: `docker ps --filter %s` %s; %s, or, if context %s-%s is no %s cluster on this Docker, set kubernetes(image_import=...)",
			i, filter, found, fmt.Sprintf(i.start, i.cluster), i.tool, i.cluster, i.tool)
	}
	return nodes, nil
}

func (i nodeImporter) Has(ctx context.Context, ref string) (bool, error) {
	nodes, err := i.nodes(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range nodes {
		out, err := exec.CommandContext(ctx, "docker", "exec", n, "ctr", "-n", criNamespace, "images", "ls", "-q", "name=="+normalized(ref)).Output()
		if err != nil {
			return false, fmt.Errorf("list images on node %s of %s: %w", n, i, cmdErr(err))
		}
		if strings.TrimSpace(string(out)) == "" {
			return false, nil
		}
	}
	return true, nil
}

func (nodeImporter) Ref(pinned string) string { return pinned }

func (i nodeImporter) Import(ctx context.Context, ref string, images Builder, _ io.Writer) error {
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
			return fmt.Errorf("import %s on node %s of %s: %w: %s", ref, n, i, err, strings.TrimSpace(stderr.String()))
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
