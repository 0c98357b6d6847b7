package policy

// The rules about what a project is made of: its catalog() fields, its
// ship() registries and its base images (the FROM lines of image()
// Dockerfiles and container() references).

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/loopdev/loop/internal/model"
)

// catalogFields are the catalog() fields catalog_fields may require, in
// catalog()'s order, each with how to tell that an entry sets it.
var catalogFields = []struct {
	name string
	has  func(*model.CatalogEntry) bool
}{
	{"owner", func(c *model.CatalogEntry) bool { return c.Owner != "" }},
	{"team", func(c *model.CatalogEntry) bool { return c.Team != "" }},
	{"tier", func(c *model.CatalogEntry) bool { return c.Tier != "" }},
	{"lifecycle", func(c *model.CatalogEntry) bool { return c.Lifecycle != "" }},
	{"system", func(c *model.CatalogEntry) bool { return c.System != "" }},
	{"type", func(c *model.CatalogEntry) bool { return c.Type != "" }},
	{"description", func(c *model.CatalogEntry) bool { return c.Description != "" }},
	{"repository", func(c *model.CatalogEntry) bool { return c.Repository != "" }},
	{"docs", func(c *model.CatalogEntry) bool { return c.Docs != "" }},
	{"runbook", func(c *model.CatalogEntry) bool { return c.Runbook != "" }},
	{"api_spec", func(c *model.CatalogEntry) bool { return c.APISpec != "" }},
	{"slo", func(c *model.CatalogEntry) bool { return c.SLO != "" }},
	{"tags", func(c *model.CatalogEntry) bool { return len(c.Tags) > 0 }},
}

// CatalogFieldNames are the catalog() fields catalog_fields may require,
// in catalog()'s order.
var CatalogFieldNames = func() []string {
	names := make([]string, len(catalogFields))
	for i, f := range catalogFields {
		names[i] = f.name
	}
	return names
}()

// catalogField is how to tell that an entry sets field name (nil: no such
// field; config refuses those).
func catalogField(name string) func(*model.CatalogEntry) bool {
	for _, f := range catalogFields {
		if f.name == name {
			return f.has
		}
	}
	return nil
}

// checkCatalog requires the fields of r on each shipped resource: set by
// its own catalog(resource=...) or by the project's catalog().
func checkCatalog(p *model.Project, ships []*model.Ship, r Rule) []Finding {
	var out []Finding
	for _, sh := range ships {
		own, proj := p.CatalogFor(sh.Resource), p.CatalogFor("")
		var missing []string
		for _, f := range r.Values {
			has := catalogField(f)
			if has == nil {
				continue // config refuses unknown fields
			}
			if (own == nil || !has(own)) && (proj == nil || !has(proj)) {
				missing = append(missing, f)
			}
		}
		if len(missing) == 0 {
			continue
		}
		pos := sh.Pos
		if own != nil {
			pos = own.Pos
		} else if proj != nil {
			pos = proj.Pos
		}
		out = append(out, Finding{Rule: r, Pos: pos,
			Msg: fmt.Sprintf("ship(%s): catalog() lacks %s: set it in catalog() of the project or of %s", sh.Resource, strings.Join(missing, ", "), sh.Resource)})
	}
	return out
}

// checkBaseImages checks the FROM lines of every image the project builds
// and the image of every container that runs a plain reference.
func checkBaseImages(p *model.Project, r Rule) []Finding {
	var out []Finding
	seen := map[*model.Image]bool{}
	for _, img := range p.Images {
		seen[img] = true
		out = append(out, checkImage(p, img, "image("+img.Name+")", img.Pos, r)...)
	}
	for _, res := range p.Resources {
		c := res.Container
		if c == nil {
			continue
		}
		if c.Build != nil {
			if !seen[c.Build] {
				seen[c.Build] = true
				out = append(out, checkImage(p, c.Build, res.Name, res.Pos, r)...)
			}
			continue
		}
		if c.Image != "" && !ImageAllowed(c.Image, r.Values) {
			out = append(out, Finding{Rule: r, Pos: res.Pos,
				Msg: fmt.Sprintf("%s: image %s is not an allowed base image (allowed: %s)", res.Name, c.Image, strings.Join(r.Values, ", "))})
		}
	}
	return out
}

// checkImage checks the base images of one build: its Dockerfile's FROM
// lines (a Dockerfile that cannot be read is the build's error to
// report), and its Base image.
func checkImage(p *model.Project, img *model.Image, what string, pos model.Position, r Rule) []Finding {
	var text, file string
	switch {
	case img.Generated != nil:
		text, file = img.Generated.Dockerfile, "Dockerfile"
	case img.Dockerfile != "":
		b, err := os.ReadFile(img.Dockerfile)
		if err != nil {
			return nil
		}
		text, file = string(b), RelPos(p.Dir, model.Position{File: img.Dockerfile})
	}
	var out []Finding
	for _, from := range FromLines(text, img.BuildArgs) {
		if !ImageAllowed(from.Ref, r.Values) {
			out = append(out, Finding{Rule: r, Pos: pos,
				Msg: fmt.Sprintf("%s: %s:%d: FROM %s is not an allowed base image (allowed: %s)", what, file, from.Line, from.Ref, strings.Join(r.Values, ", "))})
		}
	}
	if img.Base != nil {
		out = append(out, checkImage(p, img.Base, what, pos, r)...)
	}
	return out
}

// From is a FROM line's image reference ("" when it names a build arg
// without a value) and its line.
type From struct {
	Ref  string
	Line int
}

var argRE = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// FromLines returns the base images of a Dockerfile's stages: FROM lines
// that name neither an earlier stage nor scratch, with build args (the
// global ARG defaults, then args) substituted.
func FromLines(dockerfile string, args map[string]string) []From {
	vars := map[string]string{}
	stages := map[string]bool{}
	var out []From
	sc := bufio.NewScanner(strings.NewReader(dockerfile))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seenFrom := false
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "ARG":
			if seenFrom {
				continue
			}
			name, def, _ := strings.Cut(fields[1], "=")
			if v, ok := args[name]; ok {
				def = v
			}
			vars[name] = strings.Trim(def, `"'`)
		case "FROM":
			seenFrom = true
			rest := fields[1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				continue
			}
			ref := argRE.ReplaceAllStringFunc(rest[0], func(m string) string {
				return vars[argRE.FindStringSubmatch(m)[1]]
			})
			// An empty ref is a build arg without a value: the built Base,
			// or one set at build time.
			if ref != "" && !stages[strings.ToLower(ref)] && !strings.EqualFold(ref, "scratch") {
				out = append(out, From{Ref: ref, Line: line})
			}
			if len(rest) >= 3 && strings.EqualFold(rest[1], "AS") {
				stages[strings.ToLower(rest[2])] = true // later FROMs may name it
			}
		}
	}
	return out
}

// ImageAllowed reports whether ref matches one of patterns (see Matches).
func ImageAllowed(ref string, patterns []string) bool {
	for _, p := range patterns {
		if Matches(ref, p) {
			return true
		}
	}
	return false
}

// Matches reports whether the image reference ref matches pattern, a
// glob whose * matches any characters (slashes too): "golang:*",
// "registry.corp/*". The pattern is tried against ref as written, in its
// short form ("golang:1.22") and in full ("docker.io/library/golang:1.22");
// a pattern without tag, digest or * also matches the repository with any
// tag or digest ("golang").
func Matches(ref, pattern string) bool {
	re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$")
	if err != nil {
		return false
	}
	forms := []string{ref}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		forms = append(forms, reference.FamiliarString(named), named.String(),
			reference.FamiliarName(named), named.Name())
		if !strings.ContainsAny(pattern, ":@*") {
			// A bare repository pattern: compare names only.
			forms = []string{reference.FamiliarName(named), named.Name()}
		}
	}
	for _, f := range forms {
		if re.MatchString(f) {
			return true
		}
	}
	return false
}

// RepositoryAllowed reports whether a ship() repository is under an
// allowed registry entry: a registry host ("registry.corp"), a repository
// prefix ("ghcr.io/acme") or a glob whose * stays within a path
// component ("*.registry.corp"). The entry matches whole components.
func RepositoryAllowed(repo, allowed string) bool {
	re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(strings.TrimSuffix(allowed, "/")), `\*`, "[^/]*") + "(/.*)?$")
	if err != nil {
		return false
	}
	names := []string{repo}
	if named, err := reference.ParseNormalizedNamed(repo); err == nil {
		names = append(names, named.Name())
	}
	return slices.ContainsFunc(names, re.MatchString)
}
