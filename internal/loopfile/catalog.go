package loopfile

// The catalog plugin: catalog() records service-catalog metadata (owner,
// team, lifecycle, docs, runbook, API spec, ...) for the project or one of
// its resources. It declares nothing that runs; the daemon serves it to
// the portal's catalog, API and docs pages (docs/catalog.md).
//
// catalog()'s resource may be declared later in the Loopfile, so it is
// resolved after evaluation (resolveCatalog), like ship()'s.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var catalogPlugin = &plugin{
	builtins: []*builtin{catalogBuiltin},
	resolve:  (*evalState).resolveCatalog,
}

// catalogState is the catalog plugin's state: the catalog() calls, whose
// resources are checked once every resource is known.
type catalogState struct{ pending []*pendingCatalog }

// lifecycles are the values of catalog(lifecycle=).
var lifecycles = []string{model.LifecycleExperimental, model.LifecycleProduction, model.LifecycleDeprecated}

// pendingCatalog is a catalog() whose resource is checked after evaluation.
type pendingCatalog struct {
	entry       *model.CatalogEntry
	resourcePos model.Position // the resource argument, for the error
}

var catalogBuiltin = &builtin{
	Name: "catalog", Returns: "None", fn: builtinCatalog,
	Doc: "Service-catalog metadata for the project or one of its resources, shown on the portal's catalog page across every project and served by `GET /v1/catalog` (docs/catalog.md). Declares nothing that runs. Returns `None`.",
	Params: []Param{
		{"resource", "None", "the resource described (declared anywhere in the Loopfile); `None`: the project itself. One `catalog()` per target"},
		{"owner", `""`, "who answers for it: a person or an address"},
		{"team", `""`, "the owning team"},
		{"tier", `""`, "criticality, free form (`\"1\"`, `\"critical\"`)"},
		{"lifecycle", `""`, "`\"experimental\"`, `\"production\"` or `\"deprecated\"`"},
		{"description", `""`, "one line: what it does"},
		{"repository", `""`, "source repository URL (with a scheme, e.g. `https://`)"},
		{"docs", `""`, "documentation: a URL, or a path relative to the project directory (need not exist); the portal also renders the project's `docs/*.md`"},
		{"runbook", `""`, "runbook URL (with a scheme)"},
		{"api_spec", `""`, "an OpenAPI 3.x or Swagger 2.0 file (JSON or YAML), relative to the project directory; must exist. The portal lists its operations"},
		{"slo", `""`, "service-level objective, free text (`\"99.9% availability\"`)"},
		{"tags", "[]", "strings for search in the catalog"},
		{"system", `""`, "the larger system it is part of (a Backstage `System`); a resource's entry without one is in the project's"},
		{"type", `""`, "what kind of software: `\"service\"`, `\"website\"`, `\"library\"` or another word (Backstage's `spec.type`); default: `\"service\"`, or `\"library\"` when it runs nothing long-lived"},
	},
}

// catalog(resource=None, owner="", team="", tier="", lifecycle="",
// description="", repository="", docs="", runbook="", api_spec="", slo="",
// tags=[], system="", type="") records catalog metadata for resource (None: the project).
// Returns None.
func builtinCatalog(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	e := &model.CatalogEntry{
		Resource:    a.str("resource", ""),
		Owner:       a.str("owner", ""),
		Team:        a.str("team", ""),
		Tier:        a.str("tier", ""),
		Description: a.str("description", ""),
		Repository:  a.catalogURL("repository", `e.g. "https://github.com/org/api"`),
		Docs:        a.docsRef("docs"),
		Runbook:     a.catalogURL("runbook", `e.g. "https://wiki.example.com/runbooks/api"`),
		APISpec:     a.apiSpec(s, "api_spec"),
		SLO:         a.str("slo", ""),
		Tags:        a.tags("tags"),
		System:      a.nonBlank("system", `e.g. system = "payments"`),
		Type:        a.nonBlank("type", `e.g. type = "service", "website" or "library"`),
	}
	if a.has("lifecycle") {
		e.Lifecycle = a.oneOf("lifecycle", "", lifecycles...)
	}
	if a.err == nil && a.has("resource") && e.Resource == "" {
		a.fail("resource", "name a resource, e.g. \"api\", or leave resource out for the project itself", "empty resource name")
	}
	if a.err != nil {
		return nil, a.err
	}
	st := pluginState[catalogState](s)
	for _, prev := range st.pending {
		if prev.entry.Resource != e.Resource {
			continue
		}
		what := "the project"
		if e.Resource != "" {
			what = fmt.Sprintf("resource %q", e.Resource)
		}
		arg := "resource"
		if e.Resource == "" {
			arg = "" // point at the callee
		}
		return nil, a.errorAt(arg, "give each target one catalog() call with all its metadata",
			"catalog: %s already has a catalog entry (first at %s)", what, s.relPos(prev.entry.Pos))
	}
	e.Pos = callerPos(thread)
	index, ok := a.index["resource"]
	if !ok {
		index = -1
	}
	st.pending = append(st.pending, &pendingCatalog{
		entry:       e,
		resourcePos: toPos(s.argPos(callSite(thread), "resource", index)),
	})
	s.project.Catalog = append(s.project.Catalog, e)
	return starlark.None, nil
}

// resolveCatalog runs once evaluation is over and every resource is known:
// each catalog(resource=) must name a declared resource.
func (s *evalState) resolveCatalog() error {
	names := make([]string, len(s.project.Resources))
	for i, r := range s.project.Resources {
		names[i] = r.Name
	}
	for _, pc := range pluginState[catalogState](s).pending {
		name := pc.entry.Resource
		if name == "" || s.project.Resource(name) != nil {
			continue
		}
		hint := "declared resources: " + strings.Join(names, ", ")
		if len(names) == 0 {
			hint = "declare it with service(), task(), container() or devcontainer(), or leave resource out for the project itself"
		}
		if n := nearest(name, names); n != "" {
			hint = "did you mean " + n + "? " + hint
		}
		return posError(pc.resourcePos, hint, "catalog: unknown resource %q", name)
	}
	return nil
}

// catalogURL reads a URL with a scheme (http, https, mailto, ...); an
// http(s) URL needs a host.
func (a *args) catalogURL(name, example string) string {
	s := a.str(name, "")
	if a.err != nil || s == "" {
		return s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "":
		a.fail(name, "use a URL with a scheme, "+example, "%q is not a URL", s)
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		a.fail(name, "use a URL with a host, "+example, "URL %q has no host", s)
	}
	return s
}

// docsRef reads catalog(docs=): a URL, or a path inside the project (need
// not exist), kept relative and cleaned.
func (a *args) docsRef(name string) string {
	s := a.str(name, "")
	if a.err != nil || s == "" || strings.Contains(s, "://") {
		return a.catalogURL(name, `e.g. "https://docs.example.com/api"`)
	}
	return a.projectPath(name, s, `a path relative to the project directory, e.g. "docs", or a URL`)
}

// apiSpec reads catalog(api_spec=): an existing file inside the project,
// made absolute.
func (a *args) apiSpec(s *evalState, name string) string {
	p := a.str(name, "")
	if a.err != nil || p == "" {
		return ""
	}
	const hint = `the OpenAPI file's path relative to the project directory, e.g. "api/openapi.yaml"`
	rel := a.projectPath(name, p, hint)
	if a.err != nil {
		return ""
	}
	abs := s.abs(rel)
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		a.fail(name, "create it or fix the path; it is "+hint, "file %q does not exist", p)
	case fi.IsDir():
		a.fail(name, hint, "%q is a directory", p)
	case !fi.Mode().IsRegular():
		a.fail(name, hint, "%q is not a regular file", p)
	}
	return abs
}

// projectPath checks that p is a relative path that stays inside the
// project directory and returns it cleaned, with forward slashes.
func (a *args) projectPath(name, p, hint string) string {
	clean := filepath.ToSlash(filepath.Clean(p))
	switch {
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/"):
		a.fail(name, hint, "%q is absolute", p)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		a.fail(name, hint, "%q leaves the project directory", p)
	}
	return clean
}

// nonBlank reads an optional string that, when given, is not blank.
func (a *args) nonBlank(name, example string) string {
	s := a.str(name, "")
	if a.err == nil && a.has(name) && strings.TrimSpace(s) == "" {
		a.fail(name, "leave it out, or "+example, "empty %s", name)
	}
	return strings.TrimSpace(s)
}

// tags reads a list of non-empty strings without duplicates.
func (a *args) tags(name string) []string {
	tags := a.strList(name)
	if a.err != nil || len(tags) == 0 {
		return nil
	}
	for i, t := range tags {
		switch {
		case strings.TrimSpace(t) == "":
			a.fail(name, `e.g. tags = ["payments", "grpc"]`, "element %d is empty", i)
			return nil
		case slices.Contains(tags[:i], t):
			a.fail(name, "drop the repeated tag", "tag %q is repeated", t)
			return nil
		}
	}
	return tags
}
