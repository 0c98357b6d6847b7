package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // IDs
		err  string   // substring; "" = no error
	}{
		{"one", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", []string{"ConfigMap/a"}, ""},
		{"namespaced", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: dev}\n", []string{"ConfigMap/dev/a"}, ""},
		{"empty docs skipped", "---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n", []string{"ConfigMap/a"}, ""},
		{"several", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", []string{"ConfigMap/a", "Secret/b"}, ""},
		{"list flattened", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n", []string{"ConfigMap/a", "Service/s"}, ""},
		{"json", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}`, []string{"ConfigMap/j"}, ""},
		{"empty", "", nil, ""},
		{"no apiVersion", "kind: ConfigMap\nmetadata: {name: a}\n", nil, "src.yaml: document 1: missing apiVersion"},
		{"no kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: a}\n", nil, "src.yaml: document 2: missing kind"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\n", nil, "document 1: ConfigMap without metadata.name"},
		{"generateName", "apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n", nil, "metadata.generateName"},
		{"bad list item", "apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap, metadata: {name: a}}\n", nil, "document 1: List item 0: missing apiVersion"},
		{"not yaml", "a: [\n", nil, "src.yaml: document 1:"},
		{"not a map", "- a\n- b\n", nil, "src.yaml: document 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode("src.yaml", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, o := range objs {
				if o.Source != "src.yaml" || !strings.Contains(o.Manifest, "name: "+o.Name) {
					t.Errorf("%s: source %q, manifest %q", o.ID(), o.Source, o.Manifest)
				}
			}
		})
	}
}

func ids(objs []*model.KubeObject) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID())
	}
	return out
}

func mustDecode(t *testing.T, src string) []*model.KubeObject {
	t.Helper()
	objs, err := Decode("test", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestPodSpecPath(t *testing.T) {
	tests := []struct {
		kind string
		want string
	}{
		{"Deployment", "spec.template.spec"},
		{"StatefulSet", "spec.template.spec"},
		{"DaemonSet", "spec.template.spec"},
		{"ReplicaSet", "spec.template.spec"},
		{"Job", "spec.template.spec"},
		{"CronJob", "spec.jobTemplate.spec.template.spec"},
		{"Pod", "spec"},
		{"Service", ""},
		{"Widget", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(PodSpecPath(tt.kind), "."); got != tt.want {
			t.Errorf("PodSpecPath(%s): got %q, want %q", tt.kind, got, tt.want)
		}
		if got := IsWorkload(tt.kind); got != (tt.want != "") {
			t.Errorf("IsWorkload(%s): got %v", tt.kind, got)
		}
	}
}

const workloads = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      initContainers: [{name: init, image: "migrate:1"}]
      containers:
      - {name: api, image: "api:dev"}
      - {name: sidecar, image: "envoy@sha256:abc"}
      - {name: again, image: "api:dev"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}}
        spec: {containers: [{name: c, image: "registry.example.com/team/job"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: p}}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  image: widget
  workers: [{image: worker-a}, {image: worker-b}]
`

func TestImages(t *testing.T) {
	objs := mustDecode(t, workloads)
	tests := []struct {
		obj   *model.KubeObject
		extra []string
		want  []string
	}{
		{objs[0], nil, []string{"migrate:1", "api:dev", "envoy@sha256:abc"}},
		{objs[1], nil, []string{"registry.example.com/team/job"}},
		{objs[2], nil, []string{"busybox"}},
		{objs[3], nil, nil},
		{objs[3], []string{"spec.image", "spec.workers.image", "spec.missing"}, []string{"widget", "worker-a", "worker-b"}},
	}
	for _, tt := range tests {
		if got := Images(tt.obj, tt.extra...); !slices.Equal(got, tt.want) {
			t.Errorf("Images(%s, %q): got %q, want %q", tt.obj.ID(), tt.extra, got, tt.want)
		}
	}
}

func TestSelects(t *testing.T) {
	objs := mustDecode(t, workloads)
	api, nightly, pod := objs[0], objs[1], objs[2]
	svc := func(selector string, ns string) *model.KubeObject {
		meta := "{name: s}"
		if ns != "" {
			meta = "{name: s, namespace: " + ns + "}"
		}
		return mustDecode(t, "apiVersion: v1\nkind: Service\nmetadata: "+meta+"\nspec: {selector: "+selector+"}\n")[0]
	}
	tests := []struct {
		svc  *model.KubeObject
		w    *model.KubeObject
		want bool
	}{
		{svc("{app: api}", ""), api, true},
		{svc("{app: api, tier: backend}", ""), api, true},
		{svc("{app: api, tier: frontend}", ""), api, false},
		{svc("{app: api}", "other"), api, false},
		{svc("{}", ""), api, false},
		{svc("{app: nightly}", ""), nightly, true},
		{svc("{app: p}", ""), pod, true},
		{objs[3], api, false},
	}
	for i, tt := range tests {
		if got := Selects(tt.svc, tt.w); got != tt.want {
			t.Errorf("%d: Selects(%s, %s): got %v, want %v", i, tt.svc.Manifest, tt.w.ID(), got, tt.want)
		}
	}
}

func TestSortForApply(t *testing.T) {
	objs := mustDecode(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c2}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c1}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev}
`)
	SortForApply(objs)
	want := []string{"Namespace/dev", "CustomResourceDefinition/widgets.example.com", "ConfigMap/c2", "ConfigMap/c1", "Service/s", "Widget/w", "Deployment/d"}
	if got := ids(objs); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestKustomize(t *testing.T) {
	out, files, err := Kustomize(filepath.Join("testdata", "kustomize", "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode("kustomize", out)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(objs)
	if len(got) != 3 || !slices.Contains(got, "Deployment/dev-api") || !slices.Contains(got, "Service/dev-api") ||
		!slices.ContainsFunc(got, func(id string) bool { return strings.HasPrefix(id, "ConfigMap/dev-api-config-") }) {
		t.Errorf("got %q, want dev-api Deployment and Service and a hashed dev-api-config ConfigMap", got)
	}
	for _, o := range objs {
		if o.Kind == "Deployment" && PodLabels(o)["env"] != "dev" {
			t.Errorf("pod labels %v lack env=dev", PodLabels(o))
		}
	}
	abs, _ := filepath.Abs("testdata/kustomize")
	for _, f := range []string{"base/kustomization.yaml", "base/deployment.yaml", "base/service.yaml", "overlay/kustomization.yaml", "overlay/settings.ini"} {
		if !slices.Contains(files, filepath.Join(abs, f)) {
			t.Errorf("files %q lack %s", files, f)
		}
	}
}

func TestKustomize_remote(t *testing.T) {
	before := tree(t, os.TempDir())
	_, _, err := Kustomize(filepath.Join("testdata", "kustomize", "remote"))
	if err == nil || !strings.Contains(err.Error(), "remote resource") || !strings.Contains(err.Error(), "local kustomizations only") {
		t.Fatalf("got %v, want a remote resource error", err)
	}
	if after := tree(t, os.TempDir()); !slices.Equal(before, after) {
		t.Errorf("Kustomize wrote into %s", os.TempDir())
	}
}

func TestIsRemote(t *testing.T) {
	for r, want := range map[string]bool{
		"../base": false, "base": false, "deploy.yaml": false, "./github.com/x": false,
		"https://example.com/x.yaml":                   true,
		"github.com/org/repo/deploy?ref=v1":            true,
		"github.com/org/repo//deploy":                  true,
		"git@github.com:org/repo.git":                  true,
		"ssh://git@example.com/repo.git//x":            true,
		"gitlab.example.com/team/repo/deploy?ref=main": true,
	} {
		if got := isRemote(r); got != want {
			t.Errorf("isRemote(%q): got %v, want %v", r, got, want)
		}
	}
}

// tree lists the names directly in dir.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
