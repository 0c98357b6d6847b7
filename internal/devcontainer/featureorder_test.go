package devcontainer

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// installOrder is the order of the Features in a generated Dockerfile.
func installOrder(t *testing.T, res *Result) []string {
	t.Helper()
	if res.Image == nil || res.Image.Generated == nil {
		t.Fatalf("Image: got %+v, want a generated Features image", res.Image)
	}
	var keys []string
	for _, line := range strings.Split(res.Image.Generated.Dockerfile, "\n") {
		if k, ok := strings.CutPrefix(line, "# ./"); ok {
			keys = append(keys, "./"+strings.Fields(k)[0])
		}
	}
	return keys
}

func feature(id, extra string) string {
	return `{"id": "` + id + `", "version": "1.0.0"` + extra + `}`
}

func TestLoad_featureOrder(t *testing.T) {
	for _, tt := range []struct {
		name     string
		features string            // devcontainer.json's features object
		meta     map[string]string // Feature folder → extra devcontainer-feature.json properties
		want     []string
	}{
		{
			name:     "no dependencies: sorted by path, not by key order",
			features: `{"./f/b": {}, "./f/a": {}, "./f/C": {}}`,
			want:     []string{"./f/a", "./f/b", "./f/C"},
		},
		{
			name:     "installsAfter a Feature in use",
			features: `{"./f/a": {}, "./f/b": {}}`,
			meta:     map[string]string{"a": `, "installsAfter": ["./f/b"]`},
			want:     []string{"./f/b", "./f/a"},
		},
		{
			name:     "installsAfter a Feature not in use, or a registry id: ignored",
			features: `{"./f/b": {}, "./f/a": {}}`,
			meta:     map[string]string{"a": `, "installsAfter": ["./f/c", "ghcr.io/devcontainers/features/common-utils"]`},
			want:     []string{"./f/a", "./f/b"},
		},
		{
			name:     "dependsOn loads a Feature the config does not list",
			features: `{"./f/a": {}}`,
			meta:     map[string]string{"a": `, "dependsOn": {"./f/z": {"greeting": "x"}}`},
			want:     []string{"./f/z", "./f/a"},
		},
		{
			name:     "chain over rounds",
			features: `{"./f/a": {}, "./f/b": {}, "./f/c": {}, "./f/d": {}}`,
			meta:     map[string]string{"a": `, "dependsOn": {"./f/b": {}}`, "b": `, "installsAfter": ["./f/d"]`},
			want:     []string{"./f/c", "./f/d", "./f/b", "./f/a"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{".devcontainer/devcontainer.json": `{"image": "x", "features": ` + tt.features + `}`}
			for _, id := range []string{"a", "b", "c", "C", "d", "z"} {
				files[".devcontainer/f/"+id+"/devcontainer-feature.json"] = feature(id, tt.meta[id])
				files[".devcontainer/f/"+id+"/install.sh"] = "#!/bin/sh\n"
			}
			dir := newProject(t, files)
			res, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
			if err != nil {
				t.Fatal(err)
			}
			if got := installOrder(t, res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("install order: got %v, want %v", got, tt.want)
			}
			for _, w := range res.Warnings {
				if strings.Contains(w, "dependsOn") || strings.Contains(w, "installsAfter") {
					t.Errorf("warning %q: want none for dependsOn/installsAfter", w)
				}
			}
		})
	}
}

func TestLoad_featureOrderErrors(t *testing.T) {
	for _, tt := range []struct {
		name, a, b, want string
	}{
		{"cycle", `, "dependsOn": {"./f/b": {}}`, `, "installsAfter": ["./f/a"]`, "./f/a, ./f/b depend on each other"},
		{"registry dependsOn", `, "dependsOn": {"ghcr.io/x/y:1": {}}`, ``, `dependsOn "ghcr.io/x/y:1": registry Features are not supported yet`},
	} {
		dir := newProject(t, map[string]string{
			".devcontainer/devcontainer.json":             `{"image": "x", "features": {"./f/a": {}, "./f/b": {}}}`,
			".devcontainer/f/a/devcontainer-feature.json": feature("a", tt.a),
			".devcontainer/f/a/install.sh":                "#!/bin/sh\n",
			".devcontainer/f/b/devcontainer-feature.json": feature("b", tt.b),
			".devcontainer/f/b/install.sh":                "#!/bin/sh\n",
		})
		_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, tt.want) || e.Line == 0 {
			t.Errorf("%s: got %v, want an error with a position containing %q", tt.name, err, tt.want)
		}
	}
}
