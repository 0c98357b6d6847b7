package loopfile

// Plugins and their builtins. A builtin is declared once, in its plugin's
// file: its parameters (name, default, doc) are what unpack binds the
// call's arguments to, what an unknown keyword's hint lists, and what
// editors and docs show (Builtins).

import (
	"fmt"
	"reflect"
	"slices"

	"go.starlark.net/starlark"
)

// A builtin is one function of the Loopfile dialect.
type builtin struct {
	Name    string
	Returns string  // what the call returns ("name", "probe", ...)
	Doc     string  // a paragraph (Markdown)
	Params  []Param // in positional order; the required ones (Default "") first

	// fn runs a call whose arguments are bound to Params.
	fn func(thread *starlark.Thread, a *args) (starlark.Value, error)
}

// value is b as a Starlark value: it binds a call's arguments to b.Params
// and runs b.fn.
func (b *builtin) value() *starlark.Builtin {
	return starlark.NewBuiltin(b.Name, func(thread *starlark.Thread, _ *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		a, err := unpack(b.Name, b.Params, posArgs, kwargs)
		if err != nil {
			return nil, err
		}
		return b.fn(thread, a)
	})
}

// check reports what is wrong with b's declaration: a parameter without a
// name or doc, a name given twice, a required parameter after an optional
// one (it could only be passed by keyword, and unpack would not require
// it).
func (b *builtin) check() error {
	if b.Name == "" || b.Returns == "" || b.Doc == "" || b.fn == nil {
		return fmt.Errorf("builtin %q: a name, Returns, Doc and fn are required", b.Name)
	}
	for i, p := range b.Params {
		switch {
		case p.Name == "" || p.Doc == "":
			return fmt.Errorf("%s: parameter %d: a name and a doc are required", b.Name, i)
		case slices.ContainsFunc(b.Params[:i], func(q Param) bool { return q.Name == p.Name }):
			return fmt.Errorf("%s: parameter %s declared twice", b.Name, p.Name)
		case p.Default == "" && i > 0 && b.Params[i-1].Default != "":
			return fmt.Errorf("%s: required parameter %s after the optional %s", b.Name, p.Name, b.Params[i-1].Name)
		}
	}
	return nil
}

// A plugin is a group of builtins (resources.go, probes.go, ...) and what
// it does once the Loopfile and everything it loaded have run. What a
// plugin keeps during one evaluation it keeps in its own state
// (pluginState), not in evalState's fields.
type plugin struct {
	builtins []*builtin

	// complete, when set, runs before the project is validated: it fills
	// in what a call could not know yet (a container's image() declared
	// further down) and may add resources (the workloads of k8s_yaml()).
	complete func(*evalState) error
	// resolve, when set, runs after validation: it checks what a call
	// refers to that may be declared further down (ship()'s resource).
	resolve func(*evalState) error
}

// plugins lists every plugin, in the order their complete and resolve
// steps run. Later ones win a builtin name clash.
var plugins = []*plugin{
	resourcesPlugin,
	probesPlugin,
	settingsPlugin,
	filesPlugin,
	containersPlugin,
	shipPlugin,
	catalogPlugin,
	secretsPlugin,
	databasesPlugin,
	routesPlugin,
	composePlugin,
	kubePlugin,
}

// builtins returns every plugin's builtins by name.
func builtins() map[string]*builtin {
	m := map[string]*builtin{}
	for _, p := range plugins {
		for _, b := range p.builtins {
			m[b.Name] = b
		}
	}
	return m
}

// predeclared returns a fresh environment with every plugin's builtins.
func predeclared() starlark.StringDict {
	env := starlark.StringDict{}
	for name, b := range builtins() {
		env[name] = b.value()
	}
	return env
}

// pluginState returns the state of type T a plugin keeps for the
// evaluation s, made (zero) on first use. Each plugin has its own type.
func pluginState[T any](s *evalState) *T {
	key := reflect.TypeFor[T]()
	if v, ok := s.plugins[key]; ok {
		return v.(*T)
	}
	v := new(T)
	s.plugins[key] = v
	return v
}
