package daemon

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// writeProject writes files next to a fresh Loopfile and returns its path.
func writeProject(t *testing.T, loopfile string, files map[string]string) string {
	t.Helper()
	lf := writeLoopfile(t, loopfile)
	for name, body := range files {
		p := filepath.Join(filepath.Dir(lf), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return lf
}

const petstore = `openapi: 3.0.3
info: {title: Payments API, version: "2.1"}
paths:
  /payments:
    post: {operationId: createPayment, summary: Take a payment}
    get: {operationId: listPayments}
`

func TestDaemon_Catalog(t *testing.T) {
	c := startDaemon(t)
	ctx := context.Background()
	pay := up(t, c, writeProject(t, `
catalog(owner = "ana", team = "Payments", lifecycle = "production", description = "Takes card payments", tags = ["pci"],
        runbook = "https://wiki.example.com/payments")
catalog("api", team = "payments", lifecycle = "experimental", system = "checkout", type = "service", api_spec = "api/openapi.yaml", description = "public API")
service("api", cmd = "exec sleep 1000")
`, map[string]string{"api/openapi.yaml": petstore}))
	other := up(t, c, writeLoopfile(t, `service("web", cmd = "exec sleep 1000")`))

	all, err := c.Catalog(ctx, api.CatalogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	payEntries := []api.CatalogEntry{
		{Project: pay.Name, Owner: "ana", Team: "Payments", Lifecycle: "production", Description: "Takes card payments",
			Runbook: "https://wiki.example.com/payments", Tags: []string{"pci"}},
		{Project: pay.Name, Resource: "api", Team: "payments", Lifecycle: "experimental", System: "checkout", Type: "service", APISpec: "api/openapi.yaml", Description: "public API"},
	}
	otherEntries := []api.CatalogEntry{{Project: other.Name}} // no catalog(): listed bare
	want := append(append([]api.CatalogEntry{}, payEntries...), otherEntries...)
	if pay.Name > other.Name {
		want = append(append([]api.CatalogEntry{}, otherEntries...), payEntries...)
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("Catalog:\n got %+v\nwant %+v", all, want)
	}

	tests := []struct {
		q    api.CatalogQuery
		want []api.CatalogEntry
	}{
		{api.CatalogQuery{Q: "CARD"}, payEntries[:1]},
		{api.CatalogQuery{Q: "pci ana"}, payEntries[:1]},
		{api.CatalogQuery{Q: "pci nobody"}, []api.CatalogEntry{}},
		{api.CatalogQuery{Q: "public"}, payEntries[1:]},
		{api.CatalogQuery{Team: "payments"}, payEntries},
		{api.CatalogQuery{Team: "payments", Lifecycle: "experimental"}, payEntries[1:]},
		{api.CatalogQuery{Lifecycle: "deprecated"}, []api.CatalogEntry{}},
		{api.CatalogQuery{Q: other.Name}, otherEntries},
	}
	for _, tt := range tests {
		got, err := c.Catalog(ctx, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Catalog(%+v):\n got %+v\nwant %+v", tt.q, got, tt.want)
		}
	}
	_, err = c.Catalog(ctx, api.CatalogQuery{Lifecycle: "prod"})
	if se := (*api.StatusError)(nil); !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Errorf("Catalog(lifecycle=prod) = %v, want a 400", err)
	}
}

func TestDaemon_OpenAPI(t *testing.T) {
	c := startDaemon(t)
	ctx := context.Background()
	lf := writeProject(t, `
catalog(api_spec = "openapi.yaml")
catalog("api", api_spec = "api/openapi.yaml")
catalog("worker", owner = "bo")
service("api", cmd = "exec sleep 1000")
service("worker", cmd = "exec sleep 1000")
`, map[string]string{"api/openapi.yaml": petstore, "openapi.yaml": petstore})
	p := up(t, c, lf)

	spec, err := c.OpenAPI(ctx, p.Name, "api")
	if err != nil {
		t.Fatal(err)
	}
	want := api.APISpec{File: "api/openapi.yaml", Title: "Payments API", Version: "2.1", Operations: []api.APIOperation{
		{Method: "GET", Path: "/payments", OperationID: "listPayments"},
		{Method: "POST", Path: "/payments", OperationID: "createPayment", Summary: "Take a payment"},
	}}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("OpenAPI:\n got %+v\nwant %+v", spec, want)
	}
	if spec, err := c.OpenAPI(ctx, p.Name, "-"); err != nil || spec.File != "openapi.yaml" {
		t.Errorf("OpenAPI(-) = %+v, %v; want the project's spec", spec, err)
	}

	for _, res := range []string{"worker", "nope"} {
		if _, err := c.OpenAPI(ctx, p.Name, res); !api.IsNotFound(err) {
			t.Errorf("OpenAPI(%s) = %v, want a 404", res, err)
		}
	}

	// The file is read on request: breaking it shows at once, with where.
	if err := os.WriteFile(filepath.Join(filepath.Dir(lf), "api/openapi.yaml"), []byte("openapi: 3.0.3\npaths:\n  /a:\n    get: {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.OpenAPI(ctx, p.Name, "api")
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnprocessableEntity {
		t.Fatalf("OpenAPI of a broken file = %v, want a 422", err)
	}
	if want := filepath.Join(filepath.Dir(lf), "api/openapi.yaml") + ":"; !strings.HasPrefix(se.Message, want) || !strings.Contains(se.Message, "invalid YAML") {
		t.Errorf("got message %q, want it to start with %q and say invalid YAML", se.Message, want)
	}
}

func TestDaemon_Docs(t *testing.T) {
	c := startDaemon(t)
	ctx := context.Background()
	lf := writeProject(t, `service("api", cmd = "exec sleep 1000")`, map[string]string{
		"docs/runbook.md": "# Runbook\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>\n",
		"docs/intro.md":   "# Introduction\n",
		"secret.md":       "# Secret\n",
	})
	dir := filepath.Dir(lf)
	if err := os.Symlink(filepath.Join(dir, "secret.md"), filepath.Join(dir, "docs/link.md")); err != nil {
		t.Fatal(err)
	}
	p := up(t, c, lf)

	pages, err := c.Docs(ctx, p.Name)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.DocPage{{Name: "intro.md", Title: "Introduction"}, {Name: "runbook.md", Title: "Runbook"}}
	if !reflect.DeepEqual(pages, want) {
		t.Errorf("Docs:\n got %+v\nwant %+v", pages, want)
	}

	page, err := c.Doc(ctx, p.Name, "runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	if page.Title != "Runbook" || !strings.Contains(page.HTML, "<table>") || strings.Contains(page.HTML, "<script") {
		t.Errorf("Doc(runbook.md) = %+v, want a table and no script", page)
	}

	// ("/docs/.." itself never reaches the handler: the mux cleans the path.)
	for _, name := range []string{"../secret.md", "../Loopfile", "..%2Fsecret.md", `..\secret.md`, "link.md", "sub/x.md", "..md"} {
		_, err := c.Doc(ctx, p.Name, name)
		var se *api.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
			t.Errorf("Doc(%q) = %v, want a 400", name, err)
		}
	}
	if _, err := c.Doc(ctx, p.Name, "nope.md"); !api.IsNotFound(err) {
		t.Errorf("Doc(nope.md) = %v, want a 404", err)
	}
	if _, err := c.Docs(ctx, "no-such-project"); !api.IsNotFound(err) {
		t.Errorf("Docs(no-such-project) = %v, want a 404", err)
	}
}
