package backstage

// The mapping from catalog() to entities (docs/catalog.md#backstage):
//
//   - Component: the project's own catalog() (named after the project) and
//     each resource's (named PROJECT-RESOURCE); with All, also every
//     long-running resource without one. A resource's entry without owner
//     and team, lifecycle, system, repository or tier takes the project's.
//   - API: each api_spec, named as its component, the document inline or,
//     written to a directory holding it, as `$text: ./PATH`.
//   - System: each system named, owned by the first entry naming it.
//
// A target without an owner is an error: Backstage requires spec.owner,
// and a placeholder would put bogus ownership in the org's catalog.

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loopdev/loop/internal/catalog"
	"github.com/loopdev/loop/internal/model"
)

// DefaultLifecycle is spec.lifecycle when catalog() gives none.
const DefaultLifecycle = model.LifecycleExperimental

// Annotation keys written besides Backstage's own.
const (
	AnnotationSourceLocation = "backstage.io/source-location"
	AnnotationTier           = "loop.dev/tier"
	AnnotationSLO            = "loop.dev/slo"
	AnnotationAPIVersion     = "loop.dev/api-version" // an API's info.version
)

// Options tune Export.
type Options struct {
	// All also exports every long-running resource that has no catalog()
	// of its own (databases excepted), with the project's metadata.
	All bool
	// Source is where the code lives (FindSource), for source-location
	// and links to docs paths; the zero Source: unknown.
	Source Source
	// Dir is the absolute directory the YAML is written to ("" = a
	// stream): an OpenAPI file inside it is referenced as `$text: ./PATH`
	// relative to it instead of inlined.
	Dir string
}

// Result is what Export produces.
type Result struct {
	Entities []Entity // Systems, Components, APIs; each kind by name
	Warnings []string // what was changed or left out to fit Backstage's rules
}

// Error is a catalog() (or, with Options.All, a resource) that cannot be
// exported: where it is, relative to the project directory, what is wrong
// and what to add.
type Error struct {
	Pos  model.Position
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	s := e.Msg
	if p := e.Pos.String(); p != "" {
		s = p + ": " + s
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// target is one Component to write.
type target struct {
	entry *model.CatalogEntry // its catalog(); nil: a resource exported by Options.All
	res   *model.Resource     // nil: the project itself
	label string              // for messages: `the project "shop"`, `service "api"`
	pos   model.Position      // relative to the project directory
	name  string
	title string
}

// Export maps p's catalog() declarations to Backstage entities. Every
// problem is reported (errors.Join of *Error), not only the first.
func Export(p *model.Project, o Options) (*Result, error) {
	x := &exporter{p: p, o: o, proj: p.CatalogFor(""), byResource: map[string]*target{}, systems: map[string]*Entity{}}
	if err := x.targets(); err != nil {
		return nil, err
	}
	var errs []error
	var out []Entity
	for _, t := range x.list {
		es, err := x.component(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, es...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, s := range x.systems {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Entity) int {
		if c := kindOrder[a.Kind] - kindOrder[b.Kind]; c != 0 {
			return c
		}
		return strings.Compare(a.Metadata.Name, b.Metadata.Name)
	})
	return &Result{Entities: out, Warnings: x.warnings}, nil
}

type exporter struct {
	p          *model.Project
	o          Options
	proj       *model.CatalogEntry // the project's own catalog(), or nil
	list       []*target
	byResource map[string]*target // by resource name; "" is the project's entry
	systems    map[string]*Entity // by name
	warnings   []string
}

// targets lists the Components: the project's entry, the resources'
// entries, then (All) the other long-running resources; names are checked
// for emptiness and clashes.
func (x *exporter) targets() error {
	p := x.p
	for _, e := range p.Catalog {
		t := &target{entry: e, pos: x.rel(e.Pos)}
		if e.Resource == "" {
			t.label = fmt.Sprintf("the project %q", p.Name)
		} else {
			t.res = p.Resource(e.Resource)
			t.label = fmt.Sprintf("%s %q", kindWord(t.res), e.Resource)
		}
		x.list = append(x.list, t)
	}
	if x.o.All {
		for _, r := range p.Resources {
			if r.RunsToCompletion() || p.CatalogFor(r.Name) != nil || isDatabase(p, r.Name) {
				continue
			}
			x.list = append(x.list, &target{res: r, pos: x.rel(r.Pos), label: fmt.Sprintf("%s %q", kindWord(r), r.Name)})
		}
	}
	if len(x.list) == 0 {
		what := "the Loopfile has no catalog()"
		if x.o.All {
			what += " and no service"
		}
		return &Error{Pos: model.Position{File: x.rel(model.Position{File: p.Loopfile}).File},
			Msg:  "nothing to export: " + what,
			Hint: `describe the project with catalog(team = "TEAM", description = "..."), or a service with catalog("NAME", team = "TEAM"); --all also exports services without one`}
	}
	seen := map[string]*target{}
	var errs []error
	for _, t := range x.list {
		full, key := p.Name, ""
		if t.res != nil {
			full, key = p.Name+"-"+t.res.Name, t.res.Name
		}
		x.byResource[key] = t
		t.name = Name(full)
		if t.name != full {
			t.title = full
		}
		switch prev := seen[strings.ToLower(t.name)]; {
		case t.name == "":
			errs = append(errs, &Error{Pos: t.pos, Msg: fmt.Sprintf("%s: %q has no letter or digit to make a Backstage name of", t.label, full),
				Hint: "rename the project (loop -p NAME) or the resource"})
		case prev != nil:
			errs = append(errs, &Error{Pos: t.pos, Msg: fmt.Sprintf("%s and %s would both be the Backstage component %q (declared at %s)", t.label, prev.label, t.name, prev.pos),
				Hint: "Backstage names are letters, digits, -, _ and . (other characters become -) and at most 63 long: rename one of them"})
		default:
			seen[strings.ToLower(t.name)] = t
		}
	}
	return errors.Join(errs...)
}

// component makes t's Component, and its API when it has an api_spec.
func (x *exporter) component(t *target) ([]Entity, error) {
	own := t.entry
	if own == nil {
		own = &model.CatalogEntry{}
	}
	inh := x.proj // what a resource's entry leaves out
	if t.res == nil || inh == nil {
		inh = &model.CatalogEntry{}
	}
	owner, err := x.owner(t, own, inh)
	if err != nil {
		return nil, err
	}
	repository := or(own.Repository, inh.Repository)
	c := Entity{APIVersion: APIVersion, Kind: KindComponent}
	c.Metadata = Metadata{
		Name:        t.name,
		Title:       t.title,
		Description: own.Description,
		Tags:        x.tags(t, own.Tags),
		Links:       x.links(own, inh, repository),
		Annotations: map[string]string{},
	}
	if loc := x.o.Source.Location(repository); loc != "" {
		c.Metadata.Annotations[AnnotationSourceLocation] = loc
	}
	if tier := or(own.Tier, inh.Tier); tier != "" {
		c.Metadata.Annotations[AnnotationTier] = tier
	}
	if own.SLO != "" {
		c.Metadata.Annotations[AnnotationSLO] = own.SLO
	}
	if len(c.Metadata.Annotations) == 0 {
		c.Metadata.Annotations = nil
	}
	lifecycle := or(own.Lifecycle, inh.Lifecycle, DefaultLifecycle)
	system, err := x.system(t, or(own.System, inh.System), owner)
	if err != nil {
		return nil, err
	}
	c.Spec = Spec{
		Type:      or(own.Type, x.defaultType(t)),
		Lifecycle: lifecycle,
		Owner:     owner,
		System:    system,
	}
	if t.res != nil && x.proj != nil {
		c.Spec.SubcomponentOf = Ref(KindComponent, x.byResource[""].name)
	}
	if t.res != nil {
		for _, d := range t.res.ResourceDeps {
			if dt := x.byResource[d]; dt != nil {
				c.Spec.DependsOn = append(c.Spec.DependsOn, Ref(KindComponent, dt.name))
			}
		}
	}
	out := []Entity{c}
	if own.APISpec != "" {
		a, err := x.api(t, own, c.Spec)
		if err != nil {
			return nil, err
		}
		out[0].Spec.ProvidesAPIs = []string{Ref(KindAPI, a.Metadata.Name)}
		out = append(out, a)
	}
	return out, nil
}

// owner is spec.owner: the team as a group, else the owner (a user, or a
// reference); a resource's entry with neither takes the project's.
func (x *exporter) owner(t *target, own, inh *model.CatalogEntry) (string, error) {
	e := own
	if e.Team == "" && e.Owner == "" {
		e = inh
	}
	where := "this catalog() call"
	if t.entry == nil {
		where = fmt.Sprintf("a catalog(%q, ...) call", t.res.Name)
	}
	if e.Team == "" && e.Owner == "" {
		hint := fmt.Sprintf(`add team = "TEAM" (a Backstage group) or owner = "NAME" (a user, or "group:NAME") to %s`, where)
		if t.res != nil {
			hint += `, or to the project's catalog() to own every service`
		}
		return "", &Error{Pos: t.pos, Msg: fmt.Sprintf("%s has no owner, which Backstage requires (spec.owner)", t.label), Hint: hint}
	}
	arg, kind, v := "team", "group", e.Team
	if v == "" {
		arg, kind, v = "owner", "user", e.Owner
	}
	ref, err := OwnerRef(v, kind)
	if err != nil {
		pos := t.pos
		if e != own || t.entry == nil {
			pos = x.rel(e.Pos)
		}
		return "", &Error{Pos: pos, Msg: fmt.Sprintf("%s: catalog(%s=): %v", t.label, arg, err),
			Hint: `a Backstage reference is KIND:NAME or KIND:NAMESPACE/NAME, e.g. "group:payments"`}
	}
	return ref, nil
}

// system records the System entity named name (the first owner naming it
// owns it) and returns the reference to it; "" for none.
func (x *exporter) system(t *target, name, owner string) (string, error) {
	if name == "" {
		return "", nil
	}
	n := Name(name)
	if n == "" {
		return "", &Error{Pos: t.pos, Msg: fmt.Sprintf("%s: system %q has no letter or digit to make a Backstage name of", t.label, name),
			Hint: `name the system with letters and digits, e.g. system = "payments"`}
	}
	if x.systems[n] == nil {
		s := &Entity{APIVersion: APIVersion, Kind: KindSystem, Metadata: Metadata{Name: n}, Spec: Spec{Owner: owner}}
		if n != name {
			s.Metadata.Title = name
		}
		x.systems[n] = s
	}
	return Ref(KindSystem, n), nil
}

// api makes the API entity of an entry's api_spec.
func (x *exporter) api(t *target, e *model.CatalogEntry, cs Spec) (Entity, error) {
	spec, src, err := catalog.ReadOpenAPI(e.APISpec)
	if err != nil {
		return Entity{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("%s: catalog(api_spec=): %v", t.label, err),
			Hint: "Backstage shows the API from this file: fix it, or leave api_spec out"}
	}
	def := &Definition{Text: string(src)}
	if x.o.Dir != "" {
		if rel, err := filepath.Rel(x.o.Dir, e.APISpec); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			def = &Definition{Ref: "./" + filepath.ToSlash(rel)}
		}
	}
	a := Entity{APIVersion: APIVersion, Kind: KindAPI}
	a.Metadata = Metadata{Name: t.name, Title: spec.Title, Description: e.Description}
	if spec.Version != "" {
		a.Metadata.Annotations = map[string]string{AnnotationAPIVersion: spec.Version}
	}
	a.Spec = Spec{Type: "openapi", Lifecycle: cs.Lifecycle, Owner: cs.Owner, System: cs.System, Definition: def}
	return a, nil
}

// links are the entry's URLs: repository, docs, runbook, and a mailto: for
// an owner who is an address.
func (x *exporter) links(own, inh *model.CatalogEntry, repository string) []Link {
	var ls []Link
	if repository != "" {
		l := Link{URL: repository, Title: "Repository"}
		if u, err := url.Parse(repository); err == nil && u.Hostname() == "github.com" {
			l.Icon = "github"
		}
		ls = append(ls, l)
	}
	switch docs := own.Docs; {
	case strings.Contains(docs, "://"):
		ls = append(ls, Link{URL: docs, Title: "Documentation", Icon: "docs"})
	case docs != "":
		if u := x.o.Source.WebPath(repository, docs); u != "" {
			ls = append(ls, Link{URL: u, Title: "Documentation", Icon: "docs"})
		}
	}
	if own.Runbook != "" {
		ls = append(ls, Link{URL: own.Runbook, Title: "Runbook", Icon: "help"})
	}
	owner := own.Owner
	if own.Team == "" && own.Owner == "" {
		owner = inh.Owner
	}
	if a, err := mail.ParseAddress(owner); err == nil && a.Address == owner {
		ls = append(ls, Link{URL: "mailto:" + owner, Title: "Owner " + owner, Icon: "email"})
	}
	return ls
}

// tags makes catalog(tags=) valid Backstage tags, warning about each one
// changed or dropped.
func (x *exporter) tags(t *target, tags []string) []string {
	var out []string
	for _, tag := range tags {
		b := Tag(tag)
		switch {
		case b == "":
			x.warn(t, "tag %q dropped: a Backstage tag needs a letter or digit", tag)
		case slices.Contains(out, b):
			x.warn(t, "tag %q dropped: it is %q, already a tag", tag, b)
		default:
			if b != strings.ToLower(tag) {
				x.warn(t, "tag %q written as %q (Backstage tags are lowercase letters and digits separated by -)", tag, b)
			}
			out = append(out, b)
		}
	}
	return out
}

// defaultType is spec.type when catalog() gives none: "library" for what
// runs nothing long-lived (a task, a project of tasks only), else "service".
func (x *exporter) defaultType(t *target) string {
	if t.res != nil {
		if t.res.RunsToCompletion() {
			return "library"
		}
		return "service"
	}
	for _, r := range x.p.Resources {
		if !r.RunsToCompletion() {
			return "service"
		}
	}
	return "library"
}

func (x *exporter) warn(t *target, format string, args ...any) {
	x.warnings = append(x.warnings, fmt.Sprintf("%s: %s: ", t.pos, t.label)+fmt.Sprintf(format, args...))
}

// rel makes a position's file relative to the project directory.
func (x *exporter) rel(p model.Position) model.Position {
	if r, err := filepath.Rel(x.p.Dir, p.File); err == nil && !strings.HasPrefix(r, "..") {
		p.File = filepath.ToSlash(r)
	}
	return p
}

// kindWord names a resource's kind in messages.
func kindWord(r *model.Resource) string {
	if r == nil || r.RunsToCompletion() {
		return "task"
	}
	return "service"
}

// isDatabase reports whether name is a database()'s resource.
func isDatabase(p *model.Project, name string) bool {
	return slices.ContainsFunc(p.Databases, func(d *model.Database) bool { return d.Name == name })
}

// or is the first non-empty string.
func or(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
