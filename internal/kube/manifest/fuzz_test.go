package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: Decode never panics, and what it accepts has what every
// object needs and decodes again to the same object.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "---\n", workloads,
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}`,
		"a: &a [*a]\n", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 1}\n",
	} {
		f.Add([]byte(s))
	}
	for _, dir := range []string{"testdata/kustomize/base", "testdata/chart/crds"} {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("fuzz", data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.APIVersion == "" || o.Kind == "" || o.Name == "" {
				t.Fatalf("accepted %+v", o)
			}
			again, err := Decode("again", []byte(o.Manifest))
			if err != nil || len(again) != 1 || again[0].ID() != o.ID() || again[0].Manifest != o.Manifest {
				t.Fatalf("re-decoding %q: got %v, %v", o.Manifest, again, err)
			}
		}
	})
}
