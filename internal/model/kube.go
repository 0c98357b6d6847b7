package model

// KindKube is a resource that runs on Kubernetes: a workload (Deployment,
// StatefulSet, DaemonSet, Job, Pod) with the objects applied beside it, or
// the objects no workload claims ("uncategorized", Workload.Kind "").
const KindKube Kind = "k8s"

// Cluster is the project's Kubernetes settings (kubernetes()): which
// kubeconfig context and namespace, which contexts may be deployed to,
// and how built images reach the cluster.
type Cluster struct {
	Context   string // kubeconfig context ("" = the current context)
	Namespace string // "" = the context's namespace, else "default"
	// AllowContexts are contexts loop may apply to besides local
	// clusters (kind-*, k3d-*, minikube, docker-desktop, ..., or a server
	// on a loopback address): a typo must never deploy to production.
	AllowContexts []string
	// ImageImport says how locally built images reach the cluster:
	// "" = detect (a kind/k3d node, else the containerd socket below),
	// "containerd://SOCKET" = import into that containerd's k8s.io
	// namespace, "registry://HOST/PREFIX" = push to a registry the
	// cluster pulls from.
	ImageImport string
	Pos         Position
}

// KubeObject is one Kubernetes object a Loopfile applies, as rendered
// (plain YAML, kustomize or Helm).
type KubeObject struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string // as written ("" = the cluster's namespace for namespaced kinds)
	Manifest   string // the object's YAML
	Source     string // where it came from, for messages: "k8s/app.yaml", "kustomize k8s/", "helm charts/db"
}

// ID is "Kind/name" (with the namespace when set): how messages and
// k8s_resource() name an object.
func (o *KubeObject) ID() string {
	if o.Namespace != "" {
		return o.Kind + "/" + o.Namespace + "/" + o.Name
	}
	return o.Kind + "/" + o.Name
}

// PortForward forwards a local port on 127.0.0.1 to a port of the
// workload's pod; it follows the workload to its new pod on rollout.
type PortForward struct {
	Local  int `json:"local"`
	Remote int `json:"remote"`
}

// Workload is what a KindKube resource applies and tracks.
type Workload struct {
	Kind string // Deployment, StatefulSet, DaemonSet, Job, Pod; "" for uncategorized objects
	Name string
	// Objects are applied in order (the workload and what is grouped
	// with it: its Services, ConfigMaps, ...) and deleted in reverse.
	Objects []*KubeObject
	// Images are the image() declarations the objects use: built
	// locally, made available to the cluster and referenced by the exact
	// build in every container, initContainer and ImagePaths field that
	// names them.
	Images []*Image
	// ImagePaths are extra fields holding an image reference in custom
	// resources, as dotted paths ("spec.image", "spec.template.image").
	ImagePaths   []string
	PortForwards []PortForward
	// Live update: only a workload with LiveUpdate gets loop's supervisor
	// (an init container copies it into an emptyDir and the container's
	// command is wrapped), sync rules and on_change steps.
	LiveUpdate bool
	Container  string // the container live update applies to ("" = the first)
	Sync       []SyncRule
	OnChange   []Step
	RebuildOn  []string
	Workdir    string // where run() steps run ("" = the container's working directory)
}

// withoutPos returns a copy of w whose images have no position, for Equal.
func (w *Workload) withoutPos() *Workload {
	if w == nil || len(w.Images) == 0 {
		return w
	}
	cp := *w
	cp.Images = make([]*Image, len(w.Images))
	for i, img := range w.Images {
		cp.Images[i] = img.withoutPos()
	}
	return &cp
}
