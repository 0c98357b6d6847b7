package loopfile

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// kubeFiles is a project with plain YAML, a kustomization (base and
// overlay with a ConfigMap generator) and a Helm chart.
var kubeFiles = map[string]string{
	"Dockerfile":     "FROM scratch\n",
	"web/Dockerfile": "FROM scratch\n",
	"k8s/db.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {selector: {app: db}}
`,
	"k8s/ns.yml":                     "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
	"k8s/README.md":                  "not a manifest\n",
	"deploy/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
	"deploy/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      initContainers: [{name: migrate, image: "registry.example.com/team/api:v1"}]
      containers: [{name: api, image: api}, {name: proxy, image: envoy}]
`,
	"deploy/base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {selector: {app: api}}\n",
	"deploy/dev/kustomization.yaml": `resources: [../base]
configMapGenerator:
  - name: api-config
    files: [app.ini]
`,
	"deploy/dev/app.ini":     "debug=true\n",
	"chart/Chart.yaml":       "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"chart/values.yaml":      "image: web\n",
	"chart/values-dev.yaml":  "image: web\nreplicas: 2\n",
	"chart/templates/_h.tpl": `{{- define "web.name" -}}{{ .Release.Name }}{{- end -}}`,
	"chart/templates/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ include "web.name" . }}}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "{{ .Values.image }}:{{ .Values.tag }}"}]}
`,
	"chart/templates/test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-test\n  annotations: {helm.sh/hook: test}\n",
	"Loopfile": `
image("api")
image("web", context = "web")
kubernetes(context = "kind-dev", namespace = "shop", allow_contexts = ["staging"], image_import = "registry://localhost:5000/dev")
k8s_yaml(["k8s", kustomize("deploy/dev")])
k8s_yaml(helm("chart", name = "shop-web", values = ["chart/values-dev.yaml"], set = {"tag": "dev", "replicas": 3}))
k8s_yaml("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: gadget}\nspec: {image: api}\n")
k8s_kind("Widget", image_json_path = "{.spec.image}")
k8s_resource(
    "Deployment/api",
    name = "backend",
    port_forwards = [8080, "9090:90"],
    sync = [sync("src", "/app/src")],
    on_change = [run("go build ./...", trigger = ["src/go.mod"]), restart()],
    rebuild_on = ["go.sum"],
    container = "api",
    workdir = "/app",
    readiness = http_probe("http://localhost:8080/healthz"),
    resource_deps = ["db"],
    labels = ["backend"],
    links = ["http://localhost:8080"],
    objects = ["ConfigMap/` + "${CM}" + `"],
    trigger = "manual",
    auto_start = False,
)
`,
}

func TestLoad_kube(t *testing.T) {
	files := maps.Clone(kubeFiles)
	// The generated ConfigMap's name has a hash of its content.
	files["Loopfile"] = strings.Replace(files["Loopfile"], "ConfigMap/${CM}", "ConfigMap/api-config-bdhtt5gtc2", 1)
	p, dir := mustLoad(t, files)
	abs := func(s string) string { return filepath.Join(dir, s) }

	wantCluster := &model.Cluster{Context: "kind-dev", Namespace: "shop", AllowContexts: []string{"staging"},
		ImageImport: "registry://localhost:5000/dev", Pos: model.Position{File: abs("Loopfile"), Line: 4, Col: 1}}
	if !reflect.DeepEqual(p.Cluster, wantCluster) {
		t.Errorf("cluster: got %+v, want %+v", p.Cluster, wantCluster)
	}

	var names []string
	for _, r := range p.Resources {
		names = append(names, r.Name)
	}
	if want := []string{"uncategorized", "db", "backend", "shop-web", "gadget"}; !slices.Equal(names, want) {
		t.Fatalf("resources: got %q, want %q", names, want)
	}
	for _, tt := range []struct {
		name, kind string
		objects    []string
		images     []string
		deps       []string
	}{
		{"uncategorized", "", []string{"Namespace/shop"}, nil, nil},
		{"db", "StatefulSet", []string{"Service/db", "StatefulSet/db"}, nil, []string{"uncategorized"}},
		{"backend", "Deployment", []string{"ConfigMap/api-config-bdhtt5gtc2", "Service/api", "Deployment/api"}, []string{"api"}, []string{"uncategorized", "db"}},
		{"shop-web", "Deployment", []string{"Deployment/shop-web"}, []string{"web"}, []string{"uncategorized"}},
		{"gadget", "Widget", []string{"Widget/gadget"}, []string{"api"}, []string{"uncategorized"}},
	} {
		r := p.Resource(tt.name)
		if r.Kind != model.KindKube || r.Workload == nil || r.Workload.Kind != tt.kind || r.Cmd != nil {
			t.Errorf("%s: got kind %s, workload %+v, cmd %q", tt.name, r.Kind, r.Workload, r.Cmd)
			continue
		}
		var ids, imgs []string
		for _, o := range r.Workload.Objects {
			ids = append(ids, o.ID())
		}
		for _, img := range r.Workload.Images {
			imgs = append(imgs, img.Name)
		}
		if !slices.Equal(ids, tt.objects) {
			t.Errorf("%s: objects: got %q, want %q", tt.name, ids, tt.objects)
		}
		if !slices.Equal(imgs, tt.images) {
			t.Errorf("%s: images: got %q, want %q", tt.name, imgs, tt.images)
		}
		if !slices.Equal(r.ResourceDeps, tt.deps) {
			t.Errorf("%s: resource_deps: got %q, want %q", tt.name, r.ResourceDeps, tt.deps)
		}
	}

	be := p.Resource("backend")
	wantW := &model.Workload{
		Kind: "Deployment", Name: "api", Objects: be.Workload.Objects, Images: []*model.Image{p.Images[0]},
		PortForwards: []model.PortForward{{Local: 8080, Remote: 8080}, {Local: 9090, Remote: 90}},
		LiveUpdate:   true, Container: "api", Workdir: "/app",
		Sync: []model.SyncRule{{Local: abs("src"), Remote: "/app/src"}},
		OnChange: []model.Step{{Cmd: []string{"/bin/sh", "-c", "go build ./..."}, Trigger: []string{abs("src/go.mod")}},
			{Restart: true}},
		RebuildOn: []string{abs("go.sum")},
	}
	if !reflect.DeepEqual(be.Workload, wantW) {
		t.Errorf("backend workload:\n got %+v\nwant %+v", be.Workload, wantW)
	}
	if !slices.Equal(be.Ports, []int{8080, 9090}) || be.Trigger != model.TriggerManual || be.AutoStart ||
		be.Readiness == nil || !slices.Equal(be.Labels, []string{"backend"}) || len(be.Links) != 1 {
		t.Errorf("backend: got %+v", be)
	}
	if want := []string{dir}; !slices.Equal(be.Deps, want) {
		t.Errorf("backend deps: got %q, want %q (the image context covers src and go.sum)", be.Deps, want)
	}
	if got := be.Pos; got.Line != 9 {
		t.Errorf("backend pos: got %v, want the k8s_resource() call", got)
	}
	if got := p.Resource("gadget").Workload.ImagePaths; !slices.Equal(got, []string{"spec.image"}) {
		t.Errorf("gadget image paths: got %q", got)
	}
	if got := p.Resource("db").Pos; got.Line != 5 {
		t.Errorf("db pos: got %v, want the k8s_yaml() call", got)
	}

	web := p.Resource("shop-web").Workload.Objects[0].Manifest
	for _, want := range []string{"image: web:dev", "replicas: 3"} {
		if !strings.Contains(web, want) {
			t.Errorf("helm output lacks %q:\n%s", want, web)
		}
	}
	for _, f := range []string{"k8s/db.yaml", "k8s/ns.yml", "deploy/dev/kustomization.yaml", "deploy/dev/app.ini",
		"deploy/base/kustomization.yaml", "deploy/base/deployment.yaml", "chart/Chart.yaml", "chart/templates/web.yaml",
		"chart/templates/_h.tpl", "chart/values-dev.yaml"} {
		if !slices.Contains(p.Files, abs(f)) {
			t.Errorf("Files lacks %s: %q", f, p.Files)
		}
	}
	if slices.Contains(p.Files, abs("k8s/README.md")) {
		t.Errorf("Files has k8s/README.md, which k8s_yaml(dir) does not read")
	}
}

func TestLoad_kubeNaming(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		call string
		want []string
	}{
		{"lower case", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: API}\n", "", []string{"api"}},
		{"same name, two kinds", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: api}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: other}\n",
			"", []string{"api:deployment", "api:job", "other"}},
		{"same name and kind, two namespaces", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: b}\n",
			`k8s_resource("Pod/b/p", name = "pb")`, []string{"p:pod:a", "pb"}},
		{"by resource name", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: api}\n",
			`k8s_resource("api:job", name = "migrate")`, []string{"api:deployment", "migrate"}},
		{"no workloads", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "", []string{"uncategorized"}},
		{"cronjob", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n", "", []string{"nightly"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := mustLoad(t, map[string]string{"k.yaml": tt.yaml, "Loopfile": "k8s_yaml('k.yaml')\n" + tt.call + "\n"})
			var got []string
			for _, r := range p.Resources {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if p.Cluster == nil || p.Cluster.Context != "" {
				t.Errorf("cluster: got %+v, want the default", p.Cluster)
			}
		})
	}
}

func TestLoad_kubeNone(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{"Loopfile": `service("x", "true")`})
	if p.Cluster != nil {
		t.Errorf("cluster: got %+v, want nil without Kubernetes", p.Cluster)
	}
}

func TestLoad_kubeErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"name clash", map[string]string{"Loopfile": "service('api', 'true')\nk8s_yaml('apiVersion: v1\\nkind: Pod\\nmetadata: {name: api}\\n')\n"},
			`k8s: resource name "api" of Pod/api (from YAML text) is taken by the resource declared at Loopfile:1:1`},
		{"port forwarded twice", map[string]string{"Loopfile": "k8s_yaml('apiVersion: v1\\nkind: Pod\\nmetadata: {name: a}\\n---\\napiVersion: v1\\nkind: Pod\\nmetadata: {name: b}\\n')\nk8s_resource('a', port_forwards = [80])\nk8s_resource('b', port_forwards = ['80:8080'])\n"},
			`k8s_resource: local port 80 is forwarded by "a" and "b"`},
		{"remote base", map[string]string{"k/kustomization.yaml": "resources:\n- github.com/org/repo/deploy?ref=v1\n", "Loopfile": "kustomize('k')\n"},
			`loop builds local kustomizations only`},
		{"missing chart", map[string]string{"Loopfile": "helm('charts/nope')\n"}, `helm: chart "charts/nope" does not exist`},
		{"bad chart", map[string]string{"c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1\n", "c/templates/x.yaml": "{{ .Values.a.b }}", "Loopfile": "helm('c')\n"},
			`helm: c/templates/x.yaml:1:10`},
		{"bad set", map[string]string{"Loopfile": "helm('c', set = {'a': [1]})\n"}, `helm: for parameter set: value for key "a": got list`},
		{"k8s_kind path", map[string]string{"Loopfile": "k8s_kind('W', image_json_path = ['spec.x[0]'])\n"}, `k8s_kind: for parameter image_json_path: invalid path "spec.x[0]"`},
		{"k8s_resource twice", map[string]string{"Loopfile": "k8s_resource('a')\nk8s_resource('a', name = 'b')\n"}, `k8s_resource: workload "a" is already configured at Loopfile:1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := fixture(t, tt.files, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestImageMatches(t *testing.T) {
	tests := []struct {
		name, ref string
		want      bool
	}{
		{"api", "api", true},
		{"api", "api:dev", true},
		{"api", "api@sha256:0123456789012345678901234567890123456789012345678901234567890123", true},
		{"api", "docker.io/library/api:1", true},
		{"api", "registry.example.com/team/api:1", true},
		{"api", "apiserver", false},
		{"api:dev", "api:prod", true},
		{"team/api", "docker.io/team/api", true},
		{"team/api", "other/api", false},
		{"team/api", "api", false},
		{"api", "Not A Ref", false},
	}
	for _, tt := range tests {
		if got := imageMatches(tt.name, tt.ref); got != tt.want {
			t.Errorf("imageMatches(%q, %q): got %v, want %v", tt.name, tt.ref, got, tt.want)
		}
	}
}
