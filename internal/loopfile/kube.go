package loopfile

// The kube plugin: kubernetes() says which cluster, k8s_yaml() adds
// Kubernetes objects (files, directories, or what kustomize() and helm()
// render), k8s_kind() makes a custom kind a workload, and k8s_resource()
// configures the resource made from a workload (kube_resources.go, which
// also holds the completion step that turns the objects into KindKube
// resources).
//
// kustomize() and helm() only read: they render client-side, record every
// file they read in Project.Files, and never fetch or write anything.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/kube/manifest"
	"github.com/loopdev/loop/internal/model"
)

var kubePlugin = &plugin{
	builtins: []*builtin{kubernetesBuiltin, k8sYAMLBuiltin, kustomizeBuiltin, helmBuiltin, k8sKindBuiltin, k8sResourceBuiltin},
	complete: (*evalState).completeKube,
}

// kubeState is the kube plugin's state: the objects in declaration order,
// the custom workload kinds and the k8s_resource() calls.
type kubeState struct {
	objects   []*kubeObject
	kinds     []*kindSpec
	resources []*k8sResourceCall
}

// kubeObject is one object and the k8s_yaml() call that added it.
type kubeObject struct {
	obj *model.KubeObject
	pos model.Position
}

// kindSpec is a k8s_kind() declaration.
type kindSpec struct {
	kind, apiVersion string
	imagePaths       []string
}

var kubernetesBuiltin = &builtin{
	Name: "kubernetes", Returns: "None", fn: builtinKubernetes,
	Doc: "The project's Kubernetes cluster: which kubeconfig context and namespace, and how built images reach it. At most once. Without it, a project with `k8s_yaml()` objects uses the current context. loop applies only to local clusters (contexts `kind-*`, `k3d-*`, `minikube`, `docker-desktop`, `rancher-desktop`, `orbstack`, `colima`, or a server on a loopback address) unless the context is in `allow_contexts`.",
	Params: []Param{
		{"context", `""`, "kubeconfig context; `\"\"`: the current context"},
		{"namespace", `""`, "namespace of objects that name none; `\"\"`: the context's namespace, else `default`"},
		{"allow_contexts", "[]", "contexts that are not local clusters but may be applied to (a typo must never deploy to production)"},
		{"image_import", `""`, "how built images reach the cluster: `\"\"` detects (the node containers of a kind or k3d cluster, for a `kind-*` or `k3d-*` context, else the containerd socket in `LOOP_K8S_CONTAINERD`), `\"containerd://SOCKET\"` imports into that containerd; `\"registry://HOST/PREFIX\"` pushes to that registry (with `docker login`'s credentials), which the cluster pulls from"},
	},
}

// kubernetes(context="", namespace="", allow_contexts=[], image_import="")
// sets Project.Cluster.
func builtinKubernetes(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	c := &model.Cluster{
		Context:       a.str("context", ""),
		Namespace:     a.str("namespace", ""),
		AllowContexts: a.strList("allow_contexts"),
		ImageImport:   a.str("image_import", ""),
	}
	if a.err == nil && c.Namespace != "" && !dnsLabel(c.Namespace) {
		a.fail("namespace", "a namespace is a DNS label: lowercase letters, digits and '-', at most 63", "invalid namespace %q", c.Namespace)
	}
	if imp := c.ImageImport; a.err == nil && imp != "" {
		rest, ok := strings.CutPrefix(imp, "containerd://")
		if !ok {
			rest, ok = strings.CutPrefix(imp, "registry://")
		}
		if !ok || rest == "" {
			a.fail("image_import", `use "" (detect), "containerd:///run/containerd/containerd.sock" or "registry://localhost:5000/dev"`,
				"invalid image import %q", imp)
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	if prev := s.project.Cluster; prev != nil {
		return nil, errorf("give kubernetes() once", "kubernetes: called twice (first at %s)", s.relPos(prev.Pos))
	}
	if len(c.AllowContexts) == 0 {
		c.AllowContexts = nil
	}
	c.Pos = callerPos(thread)
	s.project.Cluster = c
	return starlark.None, nil
}

// dnsLabel reports whether s is an RFC 1123 label (a namespace name).
func dnsLabel(s string) bool {
	if len(s) > 63 || s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// blobValue is what kustomize() and helm() return: a rendered YAML
// stream, for k8s_yaml(). str() of it is the YAML.
type blobValue struct {
	yaml   string
	source string // "kustomize k8s/overlay", "helm charts/web"
}

var _ starlark.Value = (*blobValue)(nil)

func (b *blobValue) String() string        { return b.yaml }
func (b *blobValue) Type() string          { return "k8s_blob" }
func (b *blobValue) Freeze()               {}
func (b *blobValue) Truth() starlark.Bool  { return b.yaml != "" }
func (b *blobValue) Hash() (uint32, error) { return starlark.String(b.yaml).Hash() }

var k8sYAMLBuiltin = &builtin{
	Name: "k8s_yaml", Returns: "None", fn: builtinK8sYAML,
	Doc: "Adds Kubernetes objects to the project, in order. Each workload among them (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, or a `k8s_kind()`) becomes a resource; `k8s_resource()` configures it. The same object (kind, namespace, name) twice is an error.",
	Params: []Param{
		{"src", "", "a YAML or JSON file, a directory (its `*.yaml`, `*.yml` and `*.json` files, by name), a `kustomize()` or `helm()` value, YAML text (a string with a newline), or a list of these; paths are relative to the project directory"},
	},
}

// k8s_yaml(src) adds the objects of src.
func builtinK8sYAML(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	v := a.value("src")
	var srcs []starlark.Value
	if l, ok := v.(*starlark.List); ok {
		for i := range l.Len() {
			srcs = append(srcs, l.Index(i))
		}
	} else if t, ok := v.(starlark.Tuple); ok {
		srcs = t
	} else {
		srcs = []starlark.Value{v}
	}
	st := pluginState[kubeState](s)
	pos := callerPos(thread)
	for _, src := range srcs {
		objs, err := s.readObjects(a, src)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if i := slices.IndexFunc(st.objects, func(x *kubeObject) bool { return sameObject(x.obj, o) }); i >= 0 {
				prev := st.objects[i]
				return nil, a.errorAt("src", "remove one of them, or rename one (metadata.name)",
					"k8s_yaml: %s from %s is already declared, from %s (%s)", o.ID(), o.Source, prev.obj.Source, s.relPos(prev.pos))
			}
			st.objects = append(st.objects, &kubeObject{obj: o, pos: pos})
		}
	}
	return starlark.None, nil
}

func sameObject(a, b *model.KubeObject) bool {
	return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
}

// readObjects decodes one source of k8s_yaml().
func (s *evalState) readObjects(a *args, src starlark.Value) ([]*model.KubeObject, error) {
	var data []byte
	var source string
	switch v := src.(type) {
	case *blobValue:
		data, source = []byte(v.yaml), v.source
	case starlark.String:
		if strings.Contains(string(v), "\n") {
			data, source = []byte(v), "YAML text"
			break
		}
		return s.readObjectFiles(a, string(v))
	default:
		return nil, a.errorAt("src", "give a path, kustomize(...), helm(...) or a list of them",
			"k8s_yaml: for parameter src: got %s, want a path, YAML text or a kustomize()/helm() value", src.Type())
	}
	objs, err := manifest.Decode(source, data)
	if err != nil {
		return nil, a.errorAt("src", "fix the YAML: every object needs apiVersion, kind and metadata.name", "k8s_yaml: %v", err)
	}
	return objs, nil
}

// readObjectFiles reads a manifest file, or a directory's manifest files
// sorted by name; each file read is recorded.
func (s *evalState) readObjectFiles(a *args, p string) ([]*model.KubeObject, error) {
	if p == "" {
		return nil, a.errorAt("src", "give a path relative to the project directory", "k8s_yaml: empty path")
	}
	abs := s.abs(p)
	files := []string{abs}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		es, err := os.ReadDir(abs)
		if err != nil {
			return nil, a.errorAt("src", "", "k8s_yaml: %v", err)
		}
		files = nil
		for _, e := range es {
			switch filepath.Ext(e.Name()) {
			case ".yaml", ".yml", ".json":
				files = append(files, filepath.Join(abs, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, a.errorAt("src", "put the manifests there as *.yaml, *.yml or *.json files",
				"k8s_yaml: directory %q has no manifest files", p)
		}
	}
	var out []*model.KubeObject
	for _, f := range files {
		s.addFile(f)
		data, err := readSource(f)
		if err != nil {
			hint := readErrHint(err)
			if hint == "" {
				hint = "paths are relative to the project directory"
			}
			return nil, a.errorAt("src", hint, "k8s_yaml: %s", readErrMsg(s.rel(f), err))
		}
		objs, err := manifest.Decode(s.rel(f), data)
		if err != nil {
			return nil, a.errorAt("src", "fix the YAML: every object needs apiVersion, kind and metadata.name", "k8s_yaml: %v", err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

var kustomizeBuiltin = &builtin{
	Name: "kustomize", Returns: "k8s_blob", fn: builtinKustomize,
	Doc: "Builds a kustomization, like `kustomize build`, for `k8s_yaml()`. Local bases only (a remote one is an error: vendor it); plugins and `helmCharts` are off. Every file it reads is watched.",
	Params: []Param{
		{"path", "", "the directory with `kustomization.yaml`, relative to the project directory"},
	},
}

// kustomize(path) builds a kustomization.
func builtinKustomize(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	p := a.str("path", "")
	dir := a.dir(s, "path")
	if a.err != nil {
		return nil, a.err
	}
	out, files, err := manifest.Kustomize(dir)
	for _, f := range files {
		s.addFile(f)
	}
	if err != nil {
		return nil, a.errorAt("path", "fix the kustomization; `kustomize build` shows the same error",
			"kustomize: %s", relErr(err, "kustomize "+dir+": ", dir, p))
	}
	return &blobValue{yaml: string(out), source: "kustomize " + p}, nil
}

var helmBuiltin = &builtin{
	Name: "helm", Returns: "k8s_blob", fn: builtinHelm,
	Doc: "Renders a local Helm chart client-side, like `helm template`, for `k8s_yaml()`: its CRDs first, then the templates by name. Hooks are applied as plain objects, test hooks left out; no cluster is asked (`lookup` finds nothing) and nothing is fetched (dependencies must be in `charts/`). Every file it reads is watched.",
	Params: []Param{
		{"chart", "", "a chart directory or packaged `.tgz`, relative to the project directory"},
		{"name", `""`, "release name (`.Release.Name`); `\"\"`: the chart's name"},
		{"namespace", `""`, "`.Release.Namespace`; `\"\"`: `default`. Objects are not moved into it: template `namespace: {{ .Release.Namespace }}`"},
		{"values", "[]", "values files, relative to the project directory; later ones win"},
		{"set", "{}", "like `--set`: dict of dotted keys (`\"image.tag\"`) to values, applied after `values`"},
	},
}

// helm(chart, name="", namespace="", values=[], set={}) renders a chart.
func builtinHelm(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	chart := a.str("chart", "")
	opts := manifest.HelmOptions{
		Name:      a.str("name", ""),
		Namespace: a.str("namespace", ""),
		Values:    a.paths(s, "values"),
		Set:       a.helmSet("set"),
	}
	if a.err == nil && chart == "" {
		a.fail("chart", "give the chart directory, e.g. \"charts/web\"", "empty path")
	}
	if a.err == nil && opts.Namespace != "" && !dnsLabel(opts.Namespace) {
		a.fail("namespace", "a namespace is a DNS label: lowercase letters, digits and '-'", "invalid namespace %q", opts.Namespace)
	}
	if a.err != nil {
		return nil, a.err
	}
	abs := s.abs(chart)
	if _, err := os.Stat(abs); err != nil {
		s.addFile(abs)
		return nil, a.errorAt("chart", "a local chart directory or .tgz only; fetch a repository chart with `helm pull --untar` once",
			"helm: chart %q does not exist", chart)
	}
	out, files, err := manifest.Helm(abs, opts)
	for _, f := range files {
		s.addFile(f)
	}
	if err != nil {
		return nil, a.errorAt("chart", "`helm template` on the chart shows the same error",
			"helm: %s", relErr(err, "helm "+abs+": ", abs, chart))
	}
	return &blobValue{yaml: string(out), source: "helm " + chart}, nil
}

// relErr is err's message without prefix and with the absolute path abs
// written as the user wrote it (rel).
func relErr(err error, prefix, abs, rel string) string {
	msg := strings.TrimPrefix(err.Error(), prefix)
	return strings.ReplaceAll(msg, abs, rel)
}

// helmSet reads set=: a dict of string keys to strings, numbers or bools.
func (a *args) helmSet(name string) map[string]string {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		a.wrongType(name, v, "dict")
		return nil
	}
	out := map[string]string{}
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok || k == "" || strings.ContainsAny(string(k), "=,") {
			a.fail(name, `keys are dotted paths such as "image.tag"`, "invalid key %s", kv[0])
			return nil
		}
		switch x := kv[1].(type) {
		case starlark.String:
			out[string(k)] = string(x)
		case starlark.Int, starlark.Float, starlark.Bool:
			out[string(k)] = strings.ToLower(x.String())
		default:
			a.fail(name, "use a string, number or bool; set lists with \"key[0]\"", "value for key %q: got %s", string(k), x.Type())
			return nil
		}
	}
	return out
}

var k8sKindBuiltin = &builtin{
	Name: "k8s_kind", Returns: "None", fn: builtinK8sKind,
	Doc: "Makes objects of a custom kind workloads (resources of their own), with their images at `image_json_path`, like Tilt's `k8s_kind`.",
	Params: []Param{
		{"kind", "", "the kind, e.g. `\"Rollout\"`"},
		{"image_json_path", "[]", "dotted paths of the fields that hold image references (`\"spec.image\"`; a list on the way is looked into element by element; `{.spec.image}` works too)"},
		{"api_version", `""`, "only objects of this apiVersion (`\"argoproj.io/v1alpha1\"`); `\"\"`: any"},
	},
}

// k8s_kind(kind, image_json_path=[], api_version="") declares a custom
// workload kind.
func builtinK8sKind(thread *starlark.Thread, a *args) (starlark.Value, error) {
	k := &kindSpec{kind: a.str("kind", ""), apiVersion: a.str("api_version", "")}
	if _, isStr := a.value("image_json_path").(starlark.String); isStr {
		k.imagePaths = []string{a.str("image_json_path", "")}
	} else {
		k.imagePaths = a.strList("image_json_path")
	}
	if a.err == nil && k.kind == "" {
		a.fail("kind", `give the kind, e.g. "Rollout"`, "empty kind")
	}
	for i, p := range k.imagePaths {
		p = strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}")
		p = strings.ReplaceAll(strings.TrimPrefix(p, "."), "[*]", "")
		if a.err == nil && (p == "" || strings.Contains(p, "..") || strings.ContainsAny(p, "[]{} ")) {
			a.fail("image_json_path", `use dotted field names, e.g. "spec.image" or "spec.containers.image"`, "invalid path %q", k.imagePaths[i])
		}
		k.imagePaths[i] = p
	}
	if a.err != nil {
		return nil, a.err
	}
	st := pluginState[kubeState](stateOf(thread))
	if slices.ContainsFunc(st.kinds, func(x *kindSpec) bool { return x.kind == k.kind && x.apiVersion == k.apiVersion }) {
		return nil, a.errorAt("kind", "give k8s_kind() once per kind", "k8s_kind: %s declared twice", k.kind)
	}
	st.kinds = append(st.kinds, k)
	return starlark.None, nil
}

// kindOf returns the k8s_kind() declaration o matches, or nil.
func (st *kubeState) kindOf(o *model.KubeObject) *kindSpec {
	for _, k := range st.kinds {
		if k.kind == o.Kind && (k.apiVersion == "" || k.apiVersion == o.APIVersion) {
			return k
		}
	}
	return nil
}

// isWorkload reports whether o becomes a resource of its own.
func (st *kubeState) isWorkload(o *model.KubeObject) bool {
	return manifest.IsWorkload(o.Kind) || st.kindOf(o) != nil
}

func describe(o *model.KubeObject) string { return fmt.Sprintf("%s (from %s)", o.ID(), o.Source) }
