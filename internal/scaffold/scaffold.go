// Package scaffold generates new projects from templates: the golden paths
// embedded in the binary (templates/<name>/) and team templates from a
// directory or a git repository. A template is a directory with a
// template.yaml (name, description, parameters, conditional files) and files
// that are Go text/templates over the parameter values ({{.Name}},
// {{.Port}}). A trailing ".tmpl" is dropped from a file's name, so Go
// sources and go.mod can be embedded without being compiled here.
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v2"
)

//go:embed all:templates
var embedded embed.FS

// ManifestName is the file that describes a template.
const ManifestName = "template.yaml"

// ErrNotFound is returned for a template name no source has.
var ErrNotFound = errors.New("template not found")

// Template is one loaded template.
type Template struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Params      []Param `yaml:"parameters"`
	Files       []Rule  `yaml:"files"`

	// Source says where the template came from ("embedded" or a path/URL).
	Source string `yaml:"-"`
	fsys   fs.FS
}

// Param is one template parameter.
type Param struct {
	Name     string `yaml:"name"`
	Prompt   string `yaml:"prompt"`
	Default  string `yaml:"default"`
	Pattern  string `yaml:"pattern"`
	Required bool   `yaml:"required"`
}

// Rule makes the files matching Path conditional: they are generated only
// when the parameter When.Param equals When.Equals.
type Rule struct {
	Path string `yaml:"path"`
	When Cond   `yaml:"when"`
}

// Cond is the whole condition language: one parameter equals one value.
type Cond struct {
	Param  string `yaml:"param"`
	Equals string `yaml:"equals"`
}

// MissingError is a required parameter without a value.
type MissingError struct {
	Template string
	Param    Param
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("template %s: parameter %s is required (%s): give --set %s=VALUE",
		e.Template, e.Param.Name, e.Param.Prompt, e.Param.Name)
}

// Builtin returns the templates embedded in the binary, sorted by name.
func Builtin() ([]*Template, error) {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	return load(sub, "embedded")
}

// LoadDir loads the templates of a directory: the directory itself when it
// holds a template.yaml, otherwise each subdirectory that does.
func LoadDir(dir string) ([]*Template, error) {
	fsys := os.DirFS(dir)
	if _, err := fs.Stat(fsys, ManifestName); err == nil {
		t, err := parse(fsys, dir)
		if err != nil {
			return nil, err
		}
		return []*Template{t}, nil
	}
	ts, err := load(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("load templates from %s: %w", dir, err)
	}
	return ts, nil
}

func load(fsys fs.FS, source string) ([]*Template, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var ts []*Template
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(fsys, path.Join(e.Name(), ManifestName)); err != nil {
			continue
		}
		sub, err := fs.Sub(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		src := source
		if source != "embedded" {
			src = filepath.Join(source, e.Name())
		}
		t, err := parse(sub, src)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts, nil
}

func parse(fsys fs.FS, source string) (*Template, error) {
	b, err := fs.ReadFile(fsys, ManifestName)
	if err != nil {
		return nil, err
	}
	var t Template
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", source, ManifestName, err)
	}
	if t.Name == "" {
		return nil, fmt.Errorf("%s/%s: name is required", source, ManifestName)
	}
	for _, p := range t.Params {
		if p.Name == "" {
			return nil, fmt.Errorf("%s/%s: a parameter without a name", source, ManifestName)
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				return nil, fmt.Errorf("%s/%s: parameter %s: pattern: %w", source, ManifestName, p.Name, err)
			}
		}
	}
	for _, r := range t.Files {
		if _, err := path.Match(strings.TrimSuffix(r.Path, "/**"), ""); err != nil {
			return nil, fmt.Errorf("%s/%s: files: path %q: %w", source, ManifestName, r.Path, err)
		}
		if r.When.Param == "" {
			return nil, fmt.Errorf("%s/%s: files: path %q: when.param is required", source, ManifestName, r.Path)
		}
	}
	t.Source, t.fsys = source, fsys
	return &t, nil
}

// MaxAsks bounds how often one parameter is asked for before Resolve gives
// up on invalid answers.
const MaxAsks = 5

// Resolve fills in the parameter values: given values first, then ask
// (nil: no prompting) for missing ones, then defaults. A required parameter
// left without a value is a *MissingError; a value that does not match its
// pattern is an error naming the pattern. An invalid answer is asked for
// again (up to MaxAsks times), with problem saying what was wrong with the
// previous one ("" the first time).
func (t *Template) Resolve(given map[string]string, ask func(p Param, problem string) (string, error)) (map[string]string, error) {
	known := map[string]bool{}
	for _, p := range t.Params {
		known[p.Name] = true
	}
	for k := range given {
		if !known[k] {
			return nil, fmt.Errorf("template %s: unknown parameter %q (parameters: %s)", t.Name, k, t.paramNames())
		}
	}
	vals := map[string]string{}
	for _, p := range t.Params {
		v, ok := given[p.Name]
		if ok || ask == nil {
			v, err := t.check(p, v)
			if err != nil {
				return nil, err
			}
			vals[p.Name] = v
			continue
		}
		problem := ""
		for n := 0; ; n++ {
			a, err := ask(p, problem)
			if err != nil {
				return nil, fmt.Errorf("template %s: parameter %s: %w", t.Name, p.Name, err)
			}
			v, err := t.check(p, a)
			if err == nil {
				vals[p.Name] = v
				break
			}
			if n+1 == MaxAsks {
				return nil, err
			}
			problem = err.Error()
		}
	}
	return vals, nil
}

// check applies p's default to an empty v and validates the result.
func (t *Template) check(p Param, v string) (string, error) {
	if v == "" {
		v = p.Default
	}
	if v == "" && p.Required {
		return "", &MissingError{Template: t.Name, Param: p}
	}
	if p.Pattern != "" && (v != "" || p.Required) {
		if !regexp.MustCompile(p.Pattern).MatchString(v) {
			return "", fmt.Errorf("template %s: parameter %s: %q does not match %s", t.Name, p.Name, v, p.Pattern)
		}
	}
	return v, nil
}

func (t *Template) paramNames() string {
	var names []string
	for _, p := range t.Params {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// included reports whether the conditional rules let rel be generated.
func (t *Template) included(rel string, vals map[string]string) bool {
	for _, r := range t.Files {
		if match(r.Path, rel) && vals[r.When.Param] != r.When.Equals {
			return false
		}
	}
	return true
}

// match is path.Match plus a trailing "/**" for everything under a directory.
func match(pattern, rel string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return rel == dir || strings.HasPrefix(rel, dir+"/")
	}
	ok, _ := path.Match(pattern, rel)
	return ok
}

// Render writes the template into dst with vals. dst must be missing or
// empty unless force is set; a file whose (rendered) path leaves dst is an
// error. It returns the files written, relative to dst.
func (t *Template) Render(dst string, vals map[string]string, force bool) ([]string, error) {
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 && !force {
		return nil, fmt.Errorf("new: %s exists and is not empty: choose another --dir, or give --force to write into it", dst)
	}
	type out struct {
		rel  string
		data []byte
		mode fs.FileMode
	}
	var outs []out
	// Render everything first: nothing is written when a file fails.
	err := fs.WalkDir(t.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || p == ManifestName || !d.Type().IsRegular() {
			return nil
		}
		rel := strings.TrimSuffix(p, ".tmpl")
		if !t.included(rel, vals) {
			return nil
		}
		name, err := execute(p+" (name)", rel, vals)
		if err != nil {
			return err
		}
		if !filepath.IsLocal(filepath.FromSlash(string(name))) {
			return fmt.Errorf("template %s: file %s: path %q leaves the target directory", t.Name, p, name)
		}
		src, err := fs.ReadFile(t.fsys, p)
		if err != nil {
			return err
		}
		data, err := execute(p, string(src), vals)
		if err != nil {
			return fmt.Errorf("template %s: %w", t.Name, err)
		}
		mode := fs.FileMode(0o644)
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		outs = append(outs, out{string(name), data, mode})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var written []string
	for _, o := range outs {
		p := filepath.Join(dst, filepath.FromSlash(o.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, fmt.Errorf("new: %w", err)
		}
		if err := os.WriteFile(p, o.data, o.mode); err != nil {
			return written, fmt.Errorf("new: %w", err)
		}
		written = append(written, o.rel)
	}
	return written, nil
}

func execute(name, text string, vals map[string]string) ([]byte, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, vals); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
