package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHelm(t *testing.T) {
	chart := filepath.Join("testdata", "chart")
	tests := []struct {
		name     string
		opts     HelmOptions
		wantIDs  []string
		wantText []string
	}{
		{"defaults", HelmOptions{},
			[]string{"CustomResourceDefinition/widgets.example.com", "Deployment/default/web-web", "Job/web-web-migrate", "Service/default/web-web"},
			[]string{`image: web:dev`, "replicas: 1", "helm.sh/hook: pre-install,pre-upgrade"}},
		{"name, namespace, values, set", HelmOptions{Name: "shop", Namespace: "dev",
			Values: []string{filepath.Join(chart, "values-dev.yaml")}, Set: map[string]string{"image.repository": "registry.local/web", "port": "9090"}},
			[]string{"CustomResourceDefinition/widgets.example.com", "Deployment/dev/shop-web", "Job/shop-web-migrate", "Service/dev/shop-web"},
			[]string{`image: registry.local/web:v2`, "replicas: 2", "port: 9090"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, files, err := Helm(chart, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Decode("helm", out)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(objs); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("got %q, want %q (CRDs first, templates by name, no test hook)", got, tt.wantIDs)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			abs, _ := filepath.Abs(chart)
			for _, f := range []string{"Chart.yaml", "values.yaml", "templates/_helpers.tpl", "templates/deployment.yaml", "crds/widgets.yaml"} {
				if !slices.Contains(files, filepath.Join(abs, f)) {
					t.Errorf("files %q lack %s", files, f)
				}
			}
			for _, v := range tt.opts.Values {
				va, _ := filepath.Abs(v)
				if !slices.Contains(files, va) {
					t.Errorf("files %q lack the values file %s", files, va)
				}
			}
			again, _, _ := Helm(chart, tt.opts)
			if string(again) != string(out) {
				t.Error("two renders differ")
			}
		})
	}
}

func TestHelm_errors(t *testing.T) {
	chart := filepath.Join("testdata", "chart")
	tests := []struct {
		chart string
		opts  HelmOptions
		err   string
	}{
		{"testdata/nochart", HelmOptions{}, "helm testdata/nochart:"},
		{chart, HelmOptions{Values: []string{"testdata/missing.yaml"}}, "values file"},
		{chart, HelmOptions{Set: map[string]string{"a[x]": "1"}}, "set a[x]"},
	}
	for _, tt := range tests {
		_, _, err := Helm(tt.chart, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Helm(%s, %+v): got %v, want an error containing %q", tt.chart, tt.opts, err, tt.err)
		}
	}
}

// A values schema is checked, unless it refers to a URL, which Helm would
// fetch: then the chart renders unchecked.
func TestHelm_schema(t *testing.T) {
	tests := []struct {
		schema string
		err    string // "" = renders
	}{
		{`{"type": "object", "properties": {"port": {"type": "integer"}}}`, "port"},
		{`{"type": "object", "properties": {"port": {"$ref": "https://example.invalid/port.json"}}}`, ""},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for name, body := range map[string]string{
			"Chart.yaml":         "apiVersion: v2\nname: s\nversion: 1.0.0\n",
			"values.yaml":        "port: http\n",
			"values.schema.json": tt.schema,
			"templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {port: \"{{ .Values.port }}\"}\n",
		} {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := Helm(dir, HelmOptions{})
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("schema %s: got %v, want error %q", tt.schema, err, tt.err)
		}
	}
}
