package kube

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/loopdev/loop/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// objectsOf reads a multi-document YAML file as KubeObjects.
func objectsOf(t *testing.T, path string) []*model.KubeObject {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*model.KubeObject
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var m struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &model.KubeObject{Kind: m.Kind, Name: m.Metadata.Name, Manifest: doc, Source: filepath.Base(path)})
	}
	return objs
}

// fakeWrap wraps as the runtime does, with image configs from a table.
func fakeWrap(image string, command, args []string) ([]string, error) {
	d := &deploy{configs: map[string]ocispec.ImageConfig{
		"api:loop-0123456789abcdef": {Entrypoint: []string{"/api"}, Cmd: []string{"--port", "80"}},
	}}
	return d.wrap(context.Background(), image, command, args)
}

func TestRenderObjects_Golden(t *testing.T) {
	images := map[string]string{
		"web":                              "web:loop-00000000000000aa",
		"registry.example.com/team/worker": "registry.example.com/team/worker:loop-00000000000000bb",
		"api":                              "api:loop-0123456789abcdef",
		"tool":                             "tool:loop-00000000000000cc",
	}
	tests := []struct {
		name     string
		workload model.Workload
		resource string
	}{
		{name: "deployment", workload: model.Workload{Kind: "Deployment", Name: "web"}, resource: "web"},
		{name: "cronjob", workload: model.Workload{Kind: "CronJob", Name: "nightly", ImagePaths: []string{"spec.image", "spec.template.image", "spec.missing"}}, resource: "Nightly Job/with a name far too long to be a label value at all"},
		{name: "liveupdate", workload: model.Workload{Kind: "StatefulSet", Name: "api", LiveUpdate: true, Container: "api"}, resource: "api"},
		{name: "pod-command", workload: model.Workload{Kind: "Pod", Name: "tool", LiveUpdate: true}, resource: "tool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.workload
			w.Objects = objectsOf(t, filepath.Join("testdata", "render", tt.name+".in.yaml"))
			rd := render{Project: "shop", Resource: tt.resource, Images: images, SupervisorImage: "loop-supervisor:loop-00000000000000dd", Wrap: fakeWrap}
			objs, err := renderObjects(&w, rd)
			if err != nil {
				t.Fatal(err)
			}
			var docs []string
			for _, u := range objs {
				b, err := yaml.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, string(b))
			}
			got := strings.Join(docs, "---\n")
			golden := filepath.Join("testdata", "render", tt.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestRenderObjects_Golden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered %s differs from %s:\n%s", tt.name, golden, got)
			}
			// Rendering is idempotent: the same input gives the same objects.
			again, err := renderObjects(&w, rd)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(objs, again) {
				t.Errorf("rendering twice gives different objects")
			}
		})
	}
}

func TestRenderObjects_Errors(t *testing.T) {
	deployment := objectsOf(t, filepath.Join("testdata", "render", "deployment.in.yaml"))
	tests := []struct {
		name string
		w    model.Workload
		want string
	}{
		{"bad yaml", model.Workload{Objects: []*model.KubeObject{{Kind: "X", Name: "x", Manifest: "a: [", Source: "k8s/x.yaml"}}}, "X/x (from k8s/x.yaml): parse manifest"},
		{"no kind", model.Workload{Objects: []*model.KubeObject{{Kind: "", Name: "x", Manifest: "metadata: {name: x}", Source: "k8s/x.yaml"}}}, "needs apiVersion, kind and metadata.name"},
		{"no such container", model.Workload{Kind: "Deployment", Name: "web", LiveUpdate: true, Container: "nope", Objects: deployment}, `no container "nope" (it has: web, sidecar)`},
		{"workload missing", model.Workload{Kind: "Deployment", Name: "other", LiveUpdate: true, Objects: deployment}, "no Deployment/other among the objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderObjects(&tt.w, render{Project: "p", Resource: "r", Wrap: fakeWrap})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("renderObjects() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestWrap_NoCommand(t *testing.T) {
	d := &deploy{configs: map[string]ocispec.ImageConfig{"x:loop-1": {}}}
	if _, err := d.wrap(context.Background(), "x:loop-1", nil, nil); err == nil || !strings.Contains(err.Error(), "set command in the manifest") {
		t.Errorf("wrap() = %v, want an error saying to set command", err)
	}
}

func TestLabelValue(t *testing.T) {
	for _, s := range []string{"web", "Nightly Job", strings.Repeat("a", 63), strings.Repeat("a", 64), "-x-", "日本", "a/b:c", ""} {
		v := LabelValue(s)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q, invalid: %v", s, v, errs)
		}
		if len(validation.IsValidLabelValue(s)) == 0 && v != s {
			t.Errorf("LabelValue(%q) = %q, want it unchanged", s, v)
		}
	}
	if LabelValue(strings.Repeat("a", 64)) == LabelValue(strings.Repeat("a", 65)) {
		t.Errorf("distinct long names share a label value")
	}
}

func TestPinnedRef(t *testing.T) {
	tests := []struct{ name, id, want string }{
		{"web", "sha256:0123456789abcdef0123", "web:loop-0123456789abcdef"},
		{"Registry.example.com/Team/App", "sha256:ffffffffffffffffff", "registry.example.com/team/app:loop-ffffffffffffffff"},
		{"my_app:v1", "sha256:aaaaaaaaaaaaaaaaaa", "loop/my-app-v1:loop-aaaaaaaaaaaaaaaa"},
	}
	for _, tt := range tests {
		if got := pinnedRef(tt.name, tt.id); got != tt.want {
			t.Errorf("pinnedRef(%q, %q) = %q, want %q", tt.name, tt.id, got, tt.want)
		}
	}
}

func TestSetNamespace(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}}
	if err := setNamespace(u, true, "dev"); err != nil || u.GetNamespace() != "dev" {
		t.Errorf("setNamespace(namespaced) = %v, namespace %q; want dev", err, u.GetNamespace())
	}
	u.SetNamespace("other")
	if err := setNamespace(u, true, "dev"); err != nil || u.GetNamespace() != "other" {
		t.Errorf("setNamespace kept %q, err %v; want other", u.GetNamespace(), err)
	}
	if err := setNamespace(u, false, "dev"); err == nil {
		t.Errorf("setNamespace(cluster-scoped with a namespace) = nil, want an error")
	}
}
