//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"

	"github.com/loopdev/loop/internal/backstage/backstagetest"
)

const catalogLoopfile = `
catalog(team = "payments", owner = "ana@example.com", lifecycle = "production",
        description = "Takes card payments", system = "payments", tags = ["pci"])
catalog("api", description = "The orders API", api_spec = "api/openapi.yaml")
service("api", cmd = "sleep 100", resource_deps = ["web"])
service("web", cmd = "sleep 100")
task("test", cmd = "true")
`

const catalogOpenAPI = `openapi: 3.0.3
info:
  title: Orders
  version: "1.0"
paths:
  /orders:
    get:
      operationId: listOrders
`

// kinds counts entities by kind and indexes them by kind/name.
func kinds(es []backstagetest.Entity) (map[string]int, map[string]backstagetest.Entity) {
	n, by := map[string]int{}, map[string]backstagetest.Entity{}
	for _, e := range es {
		k, _ := e["kind"].(string)
		n[k]++
		by[k+"/"+backstagetest.Name(e)] = e
	}
	return n, by
}

// TestCatalogExport runs the real `loop catalog export` on a project in a
// git repository, without loopd, and reads the YAML back as Backstage
// would: kinds, required fields, references, the OpenAPI document, the
// source location; then -o DIR and --all.
func TestCatalogExport(t *testing.T) {
	e := newEnv(t, "shop")
	e.write("Loopfile", catalogLoopfile)
	e.write("api/openapi.yaml", catalogOpenAPI)
	repo, err := git.PlainInit(e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"git@github.com:org/shop.git"}}); err != nil {
		t.Fatal(err)
	}

	r := e.mustLoop("catalog", "export")
	es := backstagetest.Check(t, []byte(r.stdout))
	n, by := kinds(es)
	if n["System"] != 1 || n["Component"] != 2 || n["API"] != 1 || len(es) != 4 {
		t.Fatalf("kinds %v, want a System, 2 Components (shop, shop-api) and an API:\n%s", n, r.stdout)
	}
	api := backstagetest.Spec(by["Component/shop-api"])
	if api["owner"] != "group:default/payments" || api["lifecycle"] != "production" || api["system"] != "system:default/payments" ||
		api["type"] != "service" || api["subcomponentOf"] != "component:default/shop" {
		t.Errorf("shop-api spec %v: want the project's owner, lifecycle and system inherited", api)
	}
	if def, _ := backstagetest.Spec(by["API/shop-api"])["definition"].(string); def != catalogOpenAPI {
		t.Errorf("API definition:\n%q\nwant the file as it is:\n%q", def, catalogOpenAPI)
	}
	meta, _ := by["Component/shop"]["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	if got := ann["backstage.io/source-location"]; got != "url:https://github.com/org/shop/tree/master/" {
		t.Errorf("source-location %v, want the origin remote's web address at the branch", got)
	}
	if left := procsOf(e.home); len(left) != 0 {
		t.Errorf("loop catalog export started processes (%s): it needs no loopd", describeProcs(left))
	}
	if again := e.mustLoop("catalog", "export"); again.stdout != r.stdout {
		t.Errorf("a second export differs:\n%s\n---\n%s", again.stdout, r.stdout)
	}

	// -o DIR, --all: every service, the document inlined (it is outside DIR).
	r = e.mustLoop("catalog", "export", "--all", "-o", "out/backstage")
	path := filepath.Join(e.dir, "out", "backstage", "catalog-info.yaml")
	if r.stdout != "" || !strings.Contains(r.stderr, "wrote "+path+" (5 entities)") {
		t.Errorf("export -o: %s; want nothing on stdout and the file named on stderr", r)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, by = kinds(backstagetest.Check(t, b))
	if n["Component"] != 3 {
		t.Errorf("--all: %v, want shop, shop-api and shop-web (the task is no component)", n)
	}
	if deps, _ := backstagetest.Spec(by["Component/shop-api"])["dependsOn"].([]any); len(deps) != 1 || deps[0] != "component:default/shop-web" {
		t.Errorf("--all: shop-api dependsOn %v, want its resource_deps web", deps)
	}
	if _, ok := backstagetest.Spec(by["API/shop-api"])["definition"].(string); !ok {
		t.Errorf("-o out/backstage: the definition is not inline although the file is outside it")
	}

	// -o . : the document is referenced, relative to catalog-info.yaml.
	e.mustLoop("catalog", "export", "-o", ".")
	b, err = os.ReadFile(filepath.Join(e.dir, "catalog-info.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, by = kinds(backstagetest.Check(t, b))
	def, _ := backstagetest.Spec(by["API/shop-api"])["definition"].(map[string]any)
	ref, _ := def["$text"].(string)
	if ref != "./api/openapi.yaml" {
		t.Fatalf("-o .: definition %v, want $text: ./api/openapi.yaml", def)
	}
	if _, err := os.Stat(filepath.Join(e.dir, ref)); err != nil {
		t.Errorf("the $text reference does not resolve: %v", err)
	}
}

// TestCatalogExport_errors: what Backstage would refuse is an error that
// says where and what to add, and nothing is written.
func TestCatalogExport_errors(t *testing.T) {
	e := newEnv(t, "shop")
	e.write("Loopfile", "service(\"api\", cmd = \"sleep 100\")\ncatalog(\"api\", description = \"no owner\")\n")
	r := e.loop("catalog", "export", "-o", "out")
	if r.code != 1 || !strings.Contains(r.stderr, `Loopfile:2:1: service "api" has no owner, which Backstage requires (spec.owner)`) ||
		!strings.Contains(r.stderr, `add team = "TEAM"`) || !strings.Contains(r.stderr, "nothing was exported") {
		t.Errorf("export without an owner: %s; want exit 1 naming the line and what to add", r)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a failed export wrote out/: %v", err)
	}

	e.write("Loopfile", "service(\"api\", cmd = \"sleep 100\")\n")
	if r := e.loop("catalog", "export"); r.code != 1 || !strings.Contains(r.stderr, "nothing to export: the Loopfile has no catalog()") || r.stdout != "" {
		t.Errorf("export without catalog(): %s; want exit 1 saying what to add", r)
	}

	e.write("Loopfile", "catalog(team = \"t\")\n")
	e.write("file", "")
	if r := e.loop("catalog", "export", "-o", "file"); r.code != 1 || !strings.Contains(r.stderr, "file is a file: -o takes a directory") {
		t.Errorf("export -o FILE: %s; want exit 1", r)
	}
}
