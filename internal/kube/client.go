// Package kube is loop's access to a Kubernetes cluster: which kubeconfig
// context a project may use (local clusters, and the contexts its
// Loopfile allows: a typo must never deploy to production), and a Client
// with what the runtime needs of the cluster's API.
package kube

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/loopdev/loop/internal/model"
)

// Client is one project's connection to its cluster.
type Client struct {
	Context   string // the kubeconfig context in use
	Server    string // its API server URL
	Namespace string // where namespaced objects without a namespace go
	Config    *rest.Config
	Set       kubernetes.Interface
	Dynamic   dynamic.Interface
	// Mapper maps kinds to API resources; Reset it when a CRD was applied.
	Mapper *restmapper.DeferredDiscoveryRESTMapper
}

// Connect loads the kubeconfig (KUBECONFIG from env, the environment `loop
// up` ran in, else loopd's, else ~/.kube/config), picks the cluster's
// context and namespace and refuses a context that is neither local nor
// allowed. Nothing is sent to the cluster.
func Connect(cluster *model.Cluster, env []string) (*Client, error) {
	if cluster == nil {
		cluster = &model.Cluster{}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if paths := kubeconfigPaths(env); paths != nil {
		rules.Precedence = paths
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cluster.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	name := cluster.Context
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("kubeconfig %s has no current context: set one (kubectl config use-context NAME) or name it in kubernetes(context=...)", strings.Join(rules.GetLoadingPrecedence(), ":"))
	}
	kctx, ok := raw.Contexts[name]
	if !ok {
		return nil, fmt.Errorf("kubeconfig has no context %q (it has: %s)", name, strings.Join(contextNames(raw.Contexts), ", "))
	}
	server := ""
	if c, ok := raw.Clusters[kctx.Cluster]; ok {
		server = c.Server
	}
	if err := Allowed(name, server, cluster.AllowContexts); err != nil {
		return nil, err
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %s: %w", name, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	ns := cluster.Namespace
	if ns == "" {
		ns = kctx.Namespace
	}
	if ns == "" {
		ns = "default"
	}
	set, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", name, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", name, err)
	}
	return &Client{
		Context: name, Server: server, Namespace: ns, Config: cfg, Set: set, Dynamic: dyn,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
	}, nil
}

// kubeconfigPaths is KUBECONFIG from env split into paths, or nil when
// env does not set it.
func kubeconfigPaths(env []string) []string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "KUBECONFIG="); ok {
			return filepath.SplitList(v)
		}
	}
	if v := os.Getenv("KUBECONFIG"); v != "" {
		return filepath.SplitList(v)
	}
	return nil
}

func contextNames(m map[string]*clientcmdapi.Context) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// localContexts are the context names (or name prefixes, ending in "-"
// or "*") local cluster tools create.
var localContexts = []string{"kind-", "k3d-", "minikube", "docker-desktop", "docker-for-desktop", "rancher-desktop", "orbstack", "colima", "colima-", "microk8s"}

// Allowed reports why loop may not apply to the context called name whose
// API server is server: it is allowed when listed in allow, when its
// name is one that a local cluster tool creates (kind-*, k3d-*, minikube,
// docker-desktop, rancher-desktop, orbstack, colima, microk8s), or when
// its server is on a loopback address.
func Allowed(name, server string, allow []string) error {
	if slices.Contains(allow, name) || IsLocal(name, server) {
		return nil
	}
	return fmt.Errorf("kubernetes context %q (server %s) is not a local cluster and the Loopfile does not allow it: "+
		"if loop may deploy there, add kubernetes(allow_contexts=[%q]) to the Loopfile; "+
		"otherwise switch context (kubectl config use-context) or name one in kubernetes(context=...)", name, server, name)
}

// IsLocal reports whether a context is a local cluster, by its name or its
// server's address.
func IsLocal(name, server string) bool {
	for _, l := range localContexts {
		if name == l || (strings.HasSuffix(l, "-") && strings.HasPrefix(name, l)) {
			return true
		}
	}
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
