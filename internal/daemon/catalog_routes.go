package daemon

// The catalog API: catalog() metadata across every registered project,
// each entry's OpenAPI operations and each project's docs/*.md pages.
// Files are read on request (package catalog), so an edited spec or page
// shows at once without re-evaluating the Loopfile.

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/catalog"
	"github.com/loopdev/loop/internal/model"
)

// catalogRoutes mounts the catalog API (catalog, OpenAPI specs, docs).
func (d *Daemon) catalogRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/catalog", d.handleCatalog)
	mux.HandleFunc("GET /v1/projects/{project}/openapi/{resource}", d.withProject(d.handleOpenAPI))
	mux.HandleFunc("GET /v1/projects/{project}/docs", d.withProject(d.handleDocs))
	mux.HandleFunc("GET /v1/projects/{project}/docs/{name}", d.withProject(d.handleDoc))
}

// handleCatalog lists the catalog entries of every registered project:
// each project's own entry (a bare one when it has no catalog() for
// itself), then its resources' entries in Loopfile order. ?q= keeps the
// entries whose name, description, owner, team or tags contain every
// word of q; ?team= and ?lifecycle= keep those with that value (case is
// ignored throughout).
func (d *Daemon) handleCatalog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := catalogFilter{
		words:     strings.Fields(strings.ToLower(q.Get("q"))),
		team:      strings.ToLower(strings.TrimSpace(q.Get("team"))),
		lifecycle: strings.ToLower(strings.TrimSpace(q.Get("lifecycle"))),
	}
	lifecycles := []string{model.LifecycleExperimental, model.LifecycleProduction, model.LifecycleDeprecated}
	if f.lifecycle != "" && !slices.Contains(lifecycles, f.lifecycle) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("unknown lifecycle %q", q.Get("lifecycle")),
			"use one of "+strings.Join(lifecycles, ", "))
		return
	}
	out := []api.CatalogEntry{}
	for _, e := range d.catalogEntries() {
		if f.match(e) {
			out = append(out, e)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// catalogEntries returns every project's entries, projects by name.
func (d *Daemon) catalogEntries() []api.CatalogEntry {
	ps := d.upProjects()
	slices.SortFunc(ps, func(a, b *project) int { return strings.Compare(a.name, b.name) })
	var out []api.CatalogEntry
	for _, p := range ps {
		cur := p.current()
		if cur == nil {
			continue
		}
		if cur.CatalogFor("") == nil {
			out = append(out, api.CatalogEntry{Project: p.name})
		}
		for _, e := range cur.Catalog {
			out = append(out, catalogEntry(p.name, cur.Dir, e))
		}
	}
	return out
}

// catalogEntry converts a catalog() declaration for the API; the API spec
// path becomes relative to the project directory.
func catalogEntry(projectName, dir string, e *model.CatalogEntry) api.CatalogEntry {
	spec := e.APISpec
	if rel, err := filepath.Rel(dir, spec); spec != "" && err == nil {
		spec = filepath.ToSlash(rel)
	}
	return api.CatalogEntry{
		Project:     projectName,
		Resource:    e.Resource,
		Owner:       e.Owner,
		Team:        e.Team,
		Tier:        e.Tier,
		Lifecycle:   e.Lifecycle,
		System:      e.System,
		Type:        e.Type,
		Description: e.Description,
		Repository:  e.Repository,
		Docs:        e.Docs,
		Runbook:     e.Runbook,
		APISpec:     spec,
		SLO:         e.SLO,
		Tags:        slices.Clone(e.Tags),
	}
}

// catalogFilter is a parsed GET /v1/catalog query (lowercase).
type catalogFilter struct {
	words     []string
	team      string
	lifecycle string
}

func (f catalogFilter) match(e api.CatalogEntry) bool {
	if f.team != "" && strings.ToLower(e.Team) != f.team {
		return false
	}
	if f.lifecycle != "" && e.Lifecycle != f.lifecycle {
		return false
	}
	hay := strings.ToLower(strings.Join(append([]string{e.Project, e.Resource, e.Description, e.Owner, e.Team}, e.Tags...), "\n"))
	for _, w := range f.words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// handleOpenAPI parses the API spec of a catalog entry. {resource} names a
// resource; the project's own entry answers to the project's name (when no
// resource has a catalog entry by that name) or to "-".
func (d *Daemon) handleOpenAPI(w http.ResponseWriter, r *http.Request, p *project) {
	cur := p.current()
	name := r.PathValue("resource")
	var e *model.CatalogEntry
	if cur != nil {
		if e = cur.CatalogFor(name); e == nil && (name == p.name || name == "-") {
			e = cur.CatalogFor("")
		}
	}
	switch {
	case e == nil:
		writeError(w, http.StatusNotFound, fmt.Errorf("%s has no catalog entry for %q", p.name, name),
			fmt.Sprintf(`declare one in the Loopfile: catalog(%q, api_spec = "openapi.yaml")`, name))
		return
	case e.APISpec == "":
		writeError(w, http.StatusNotFound, fmt.Errorf("the catalog entry for %q has no API spec", name),
			`give catalog() api_spec = "path/to/openapi.yaml"`)
		return
	}
	spec, err := catalog.ParseOpenAPI(e.APISpec)
	var pe *catalog.ParseError
	switch {
	case errors.As(err, &pe):
		writeError(w, http.StatusUnprocessableEntity, err, "fix the file; the page shows its operations once it parses")
		return
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, http.StatusNotFound, err, "the file was removed since `loop up`: restore it or fix catalog(api_spec=)")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	if rel, err := filepath.Rel(cur.Dir, spec.File); err == nil {
		spec.File = filepath.ToSlash(rel)
	}
	writeJSON(w, http.StatusOK, spec)
}

// handleDocs lists the project's docs/*.md pages with their titles.
func (d *Daemon) handleDocs(w http.ResponseWriter, r *http.Request, p *project) {
	cur := p.current()
	if cur == nil {
		writeJSON(w, http.StatusOK, []api.DocPage{})
		return
	}
	pages, err := catalog.Docs(cur.Dir)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	writeJSON(w, http.StatusOK, pages)
}

// handleDoc renders one docs/*.md page. Names with "/", "\" or ".." are
// refused (400), and so is a symlink out of docs/.
func (d *Daemon) handleDoc(w http.ResponseWriter, r *http.Request, p *project) {
	name := r.PathValue("name")
	cur := p.current()
	if cur == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("doc page %q not found", name), "")
		return
	}
	page, err := catalog.Doc(cur.Dir, name)
	switch {
	case errors.Is(err, catalog.ErrInvalidDocName):
		writeError(w, http.StatusBadRequest, err, "doc pages are the .md files directly in the project's docs/ directory")
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, http.StatusNotFound, fmt.Errorf("doc page %q not found in %s/docs", name, p.name), "list the pages with GET /v1/projects/"+p.name+"/docs")
	case err != nil:
		writeError(w, http.StatusInternalServerError, err, "")
	default:
		writeJSON(w, http.StatusOK, page)
	}
}
