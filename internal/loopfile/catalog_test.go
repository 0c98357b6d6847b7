package loopfile

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestLoad_catalog(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"api/openapi.yaml": "openapi: 3.0.3\n",
		"Loopfile": `
catalog(
    owner = "ana@example.com",
    team = "payments",
    tier = "1",
    lifecycle = "production",
    description = "Takes payments",
    repository = "https://github.com/org/payments",
    docs = "docs/",
    runbook = "https://wiki.example.com/runbooks/payments",
    slo = "99.9% availability",
    tags = ["payments", "pci"],
    system = "shop",
)
catalog("api", lifecycle = "experimental", api_spec = "./api/openapi.yaml", docs = "https://docs.example.com/api")
catalog(resource = "worker", type = "library")
service("api", "go run ./api")
task("worker", "true")
`})
	loopfile := filepath.Join(dir, "Loopfile")
	want := []*model.CatalogEntry{
		{
			Owner:       "ana@example.com",
			Team:        "payments",
			Tier:        "1",
			Lifecycle:   "production",
			Description: "Takes payments",
			Repository:  "https://github.com/org/payments",
			Docs:        "docs",
			Runbook:     "https://wiki.example.com/runbooks/payments",
			SLO:         "99.9% availability",
			Tags:        []string{"payments", "pci"},
			System:      "shop",
			Pos:         model.Position{File: loopfile, Line: 2, Col: 1},
		},
		{
			Resource:  "api",
			Lifecycle: "experimental",
			Docs:      "https://docs.example.com/api",
			APISpec:   filepath.Join(dir, "api/openapi.yaml"),
			Pos:       model.Position{File: loopfile, Line: 15, Col: 1},
		},
		{
			Resource: "worker",
			Type:     "library",
			Pos:      model.Position{File: loopfile, Line: 16, Col: 1},
		},
	}
	if !reflect.DeepEqual(p.Catalog, want) {
		t.Errorf("got\n%s\nwant\n%s", catalogString(p.Catalog), catalogString(want))
	}
	if got := p.CatalogFor("api"); got != p.Catalog[1] {
		t.Errorf("CatalogFor(api) = %+v, want the api entry", got)
	}
	if got := p.CatalogFor("db"); got != nil {
		t.Errorf("CatalogFor(db) = %+v, want nil", got)
	}
}

// A Loopfile without catalog() has no entries: the catalog is optional.
func TestLoad_catalogNone(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{"Loopfile": `service("api", "x")`})
	if p.Catalog != nil {
		t.Errorf("got Catalog %s, want nil", catalogString(p.Catalog))
	}
}

func catalogString(es []*model.CatalogEntry) string {
	var s string
	for _, e := range es {
		s += fmt.Sprintf("%+v\n", *e)
	}
	return s
}
