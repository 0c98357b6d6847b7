// Package loopfiletest holds fixtures for tests that evaluate Loopfiles,
// in package loopfile and through package sandbox's child process.
package loopfiletest

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// ReadOnlyDatabases writes into dir a Loopfile that declares every
// database engine in both runtimes (six databases, a seed file, dependants
// of three of them), then makes dir and its files read-only until the test
// ends. The Loopfile's path is returned.
func ReadOnlyDatabases(t *testing.T, dir string) string {
	t.Helper()
	var src strings.Builder
	for _, engine := range []string{"postgres", "mysql", "redis"} {
		for _, rt := range []string{"process", "container"} {
			src.WriteString("database(\"" + engine + "-" + rt + "\", engine=\"" + engine + "\", runtime=\"" + rt + "\", seed=\"seed.sql\")\n")
		}
	}
	src.WriteString(`task("check", "true", resource_deps=["postgres-process", "redis-container"])` + "\n")
	src.WriteString(`container("app", image="busybox", resource_deps=["mysql-container"])` + "\n")
	return readOnly(t, dir, map[string]string{"Loopfile": src.String(), "seed.sql": "select 1;"})
}

// ReadOnlyFeatures writes into dir a Loopfile with a devcontainer() whose
// devcontainer.json builds a Dockerfile and installs a local Feature
// ("./hello", id "hello", in .devcontainer/hello) on it, then makes dir
// and everything in it read-only until the test ends. The Loopfile's path
// is returned.
func ReadOnlyFeatures(t *testing.T, dir string) string {
	t.Helper()
	return readOnly(t, dir, map[string]string{
		"Loopfile": `devcontainer("dev")` + "\n",
		".devcontainer/devcontainer.json": `{
			"build": {"dockerfile": "Dockerfile"},
			"features": {"./hello": {"greeting": "hi"}},
		}`,
		".devcontainer/Dockerfile":                      "FROM busybox\n",
		".devcontainer/hello/devcontainer-feature.json": `{"id": "hello", "version": "1.0.0", "options": {"greeting": {"type": "string", "default": "hello"}}}`,
		".devcontainer/hello/install.sh":                "#!/bin/sh\necho \"$GREETING\" > /hello\n",
	})
}

// ReadOnlyKube writes into dir a Loopfile that adds Kubernetes objects
// from a manifest directory, a kustomization (a base and an overlay with
// a ConfigMap generator) and a local Helm chart, then makes dir and
// everything in it read-only until the test ends. The Loopfile's path is
// returned.
func ReadOnlyKube(t *testing.T, dir string) string {
	t.Helper()
	return readOnly(t, dir, map[string]string{
		"Loopfile": `k8s_yaml(["k8s", kustomize("deploy/dev"), helm("chart", set = {"tag": "dev"})])` + "\n" +
			`k8s_resource("api", port_forwards = [8080], sync = [sync("src", "/src")], on_change = [restart()])` + "\n",
		"k8s/ns.yaml":                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
		"deploy/base/kustomization.yaml": "resources: [api.yaml]\n",
		"deploy/base/api.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {template: {spec: {containers: [{name: api, image: api}]}}}\n",
		"deploy/dev/kustomization.yaml":  "resources: [../base]\nconfigMapGenerator: [{name: cfg, literals: [A=1]}]\n",
		"chart/Chart.yaml":               "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/templates/web.yaml":       "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: 'web:{{ .Values.tag }}'}]}\n",
	})
}

// CheckFeatures checks the project of ReadOnlyFeatures
// in dir: the Features image is described (its Dockerfile and the Feature
// folder it copies), and the Feature's folder is watched.
func CheckFeatures(t *testing.T, dir string, p *model.Project) {
	t.Helper()
	feature := filepath.Join(dir, ".devcontainer", "hello")
	if len(p.Images) != 2 {
		t.Fatalf("images: got %d, want the base and the Features image", len(p.Images))
	}
	base, img := p.Images[0], p.Images[1]
	if base.Name != "dev-base" || img.Name != "dev" || img.Base != base {
		t.Errorf("images: got %s and %s (base %p), want dev-base and dev on it", base.Name, img.Name, img.Base)
	}
	if img.Generated == nil || img.Context != "" || img.Dockerfile != "" {
		t.Fatalf("Features image: got %+v, want a generated context only", img)
	}
	wantCopies := []model.ContextCopy{{From: feature, To: "features/0-hello"}}
	if !slices.Equal(img.Generated.Copies, wantCopies) {
		t.Errorf("copies: got %+v, want %+v", img.Generated.Copies, wantCopies)
	}
	for _, want := range []string{"ARG LOOP_BASE_IMAGE=dev-base\n", "COPY features/0-hello/ /tmp/loop-features/0-hello/\n", "GREETING=hi ./install.sh\n"} {
		if !strings.Contains(img.Generated.Dockerfile, want) {
			t.Errorf("generated Dockerfile lacks %q:\n%s", want, img.Generated.Dockerfile)
		}
	}
	r := p.Resource("dev")
	if r == nil || r.Container == nil || r.Container.Build != img {
		t.Fatalf("resource dev: got %+v, want a container built from the Features image", r)
	}
	if !slices.Contains(r.Deps, feature) || !slices.Contains(r.Container.RebuildOn, feature) {
		t.Errorf("deps %v, rebuild_on %v: want both to hold the Feature's folder %s", r.Deps, r.Container.RebuildOn, feature)
	}
	if !slices.Contains(p.Files, filepath.Join(feature, "install.sh")) {
		t.Errorf("files %v lack the Feature's install.sh", p.Files)
	}
}

// readOnly writes files (paths relative to dir) and makes them and every
// directory from dir down read-only until the test ends.
func readOnly(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	dirs := []string{dir}
	for name, body := range files {
		p := filepath.Join(dir, name)
		for d := filepath.Dir(p); d != dir; d = filepath.Dir(d) {
			dirs = append(dirs, d)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
	return filepath.Join(dir, "Loopfile")
}

// Tree lists every path under root with its mode and modification time:
// two lists differ when anything was created, removed or written.
func Tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, strings.TrimPrefix(p, root)+" "+fi.Mode().String()+" "+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// WritesNothing checks that evaluation is pure: for a Loopfile declaring
// every database engine in both runtimes, for a devcontainer() with a
// local Feature, and for Kubernetes objects from kustomize and Helm, each in a read-only project directory with a fresh
// TMPDIR, load (given the Loopfile's path and the environment to evaluate
// with) returns the project and the file system is as it was.
func WritesNothing(t *testing.T, load func(path string, env []string) (*model.Project, error)) {
	t.Helper()
	tests := []struct {
		name    string
		fixture func(*testing.T, string) string
		check   func(*testing.T, string, *model.Project)
	}{
		{"databases", ReadOnlyDatabases, func(t *testing.T, _ string, p *model.Project) {
			if len(p.Databases) != 6 {
				t.Errorf("databases: got %d, want 6", len(p.Databases))
			}
		}},
		{"devcontainer features", ReadOnlyFeatures, CheckFeatures},
		{"kubernetes", ReadOnlyKube, func(t *testing.T, _ string, p *model.Project) {
			var names []string
			for _, r := range p.Resources {
				names = append(names, r.Name)
			}
			if want := []string{"uncategorized", "api", "web"}; !slices.Equal(names, want) {
				t.Errorf("resources: got %q, want %q", names, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, tmp := filepath.Join(root, "project"), filepath.Join(root, "tmp")
			for _, d := range []string{dir, tmp} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("TMPDIR", tmp) // a sandbox child keeps TMPDIR too
			path := tt.fixture(t, dir)
			before := Tree(t, root)
			p, err := load(path, []string{"PATH=" + os.Getenv("PATH")})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, dir, p)
			if after := Tree(t, root); !slices.Equal(after, before) {
				t.Errorf("evaluation changed the file system:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}
