package loopfile

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

// args holds a builtin's arguments by parameter name. Its getters convert
// and check one argument each; the first failure is kept in err and later
// getters return zero values, so a builtin reads all its arguments and
// checks err once.
type args struct {
	fn     string
	params []Param                   // as declared
	vals   map[string]starlark.Value // only the arguments given (None counts as absent)
	index  map[string]int            // positional index of each argument given by position
	err    error
}

// unpack binds positional and keyword arguments to params; the leading
// ones without a default are required. Unknown keywords get a
// did-you-mean hint.
func unpack(fn string, params []Param, posArgs starlark.Tuple, kwargs []starlark.Tuple) (*args, error) {
	if len(params) == 0 && len(posArgs)+len(kwargs) > 0 {
		return nil, errorf("call it as "+fn+"()", "%s: takes no arguments", fn)
	}
	names := make([]string, len(params))
	required := 0
	for i, p := range params {
		names[i] = p.Name
		if p.Default == "" && required == i {
			required = i + 1
		}
	}
	a := &args{fn: fn, params: params, vals: map[string]starlark.Value{}, index: map[string]int{}}
	if len(posArgs) > len(names) {
		return nil, errorf("pass the extra arguments by keyword, e.g. "+names[len(names)-1]+"=...",
			"%s: got %d positional arguments, want at most %d", fn, len(posArgs), len(names))
	}
	given := map[string]bool{}
	for i, v := range posArgs {
		given[names[i]] = true
		a.index[names[i]] = i
		if v != starlark.None {
			a.vals[names[i]] = v
		}
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		found := false
		for _, n := range names {
			if n == k {
				found = true
				break
			}
		}
		if !found {
			hint := "valid arguments: " + strings.Join(names, ", ")
			if n := nearest(k, names); n != "" {
				hint = "did you mean " + n + "? " + hint
			}
			return nil, &builtinError{msg: fmt.Sprintf("%s: unknown keyword argument %q", fn, k),
				hint: hint, arg: k, index: -1}
		}
		if given[k] {
			return nil, errorf("", "%s: got multiple values for argument %s", fn, k)
		}
		given[k] = true
		if kv[1] != starlark.None {
			a.vals[k] = kv[1]
		}
	}
	for _, n := range names[:required] {
		if _, ok := a.vals[n]; !ok {
			return nil, errorf("", "%s: missing argument %s", fn, n)
		}
	}
	return a, nil
}

// fail records a type or value error for parameter name.
func (a *args) fail(name, hint, format string, xs ...any) {
	if a.err == nil {
		a.err = a.errorAt(name, hint, "%s: for parameter %s: %s", a.fn, name, fmt.Sprintf(format, xs...))
	}
}

// errorAt returns an error that points at argument name.
func (a *args) errorAt(name, hint, format string, xs ...any) error {
	index, ok := a.index[name]
	if !ok {
		index = -1
	}
	return &builtinError{msg: fmt.Sprintf(format, xs...), hint: hint, arg: name, index: index}
}

// wrongType records "got int, want string".
func (a *args) wrongType(name string, v starlark.Value, want string) {
	a.fail(name, "", "got %s, want %s", v.Type(), want)
}

func (a *args) has(name string) bool { _, ok := a.get(name); return ok }

// value returns argument name, or nil when it was not given.
func (a *args) value(name string) starlark.Value {
	v, _ := a.get(name)
	return v
}

// declares reports whether the builtin has a parameter called name: a
// reader shared by builtins with different parameters asks it first.
func (a *args) declares(name string) bool {
	return slices.ContainsFunc(a.params, func(p Param) bool { return p.Name == name })
}

// get returns argument name, if given. Reading a parameter the builtin
// does not declare is a bug in loop (a typo would read as "not given"
// and its check would never run), so it panics: every builtin's tests
// then fail, and a Loopfile never reaches it.
func (a *args) get(name string) (starlark.Value, bool) {
	if !a.declares(name) {
		panic(fmt.Sprintf("loopfile: %s reads the undeclared parameter %q", a.fn, name))
	}
	v, ok := a.vals[name]
	return v, ok
}

func (a *args) str(name, def string) string {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return def
	}
	s, ok := v.(starlark.String)
	if !ok {
		a.wrongType(name, v, "string")
		return def
	}
	return string(s)
}

func (a *args) boolean(name string, def bool) bool {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return def
	}
	b, ok := v.(starlark.Bool)
	if !ok {
		a.wrongType(name, v, "bool")
		return def
	}
	return bool(b)
}

// strList accepts a list or tuple of strings.
func (a *args) strList(name string) []string {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		a.wrongType(name, v, "list of strings")
		return nil
	}
	out := make([]string, 0, seq.Len())
	for i := range seq.Len() {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			a.fail(name, "", "element %d: got %s, want string", i, seq.Index(i).Type())
			return nil
		}
		out = append(out, string(s))
	}
	return out
}

// cmd accepts a string (run with sh -c) or a non-empty list of strings (argv).
func (a *args) cmd(name string) []string {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	const want = "string or list of strings"
	switch v := v.(type) {
	case starlark.String:
		if strings.TrimSpace(string(v)) == "" {
			a.fail(name, "give the command to run, e.g. \"go run .\"", "empty command")
			return nil
		}
		return []string{"sh", "-c", string(v)}
	case starlark.Indexable:
		argv := make([]string, 0, v.Len())
		for i := range v.Len() {
			s, ok := v.Index(i).(starlark.String)
			if !ok {
				a.fail(name, "", "element %d: got %s, want string", i, v.Index(i).Type())
				return nil
			}
			argv = append(argv, string(s))
		}
		if len(argv) == 0 || argv[0] == "" {
			a.fail(name, "give the command to run, e.g. [\"go\", \"run\", \".\"]", "empty command")
			return nil
		}
		return argv
	}
	a.wrongType(name, v, want)
	return nil
}

// strDict accepts a dict of string to string.
func (a *args) strDict(name string) map[string]string {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		a.wrongType(name, v, "dict of string to string")
		return nil
	}
	out := make(map[string]string, d.Len())
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			a.fail(name, "", "key %s: got %s, want string", kv[0], kv[0].Type())
			return nil
		}
		val, ok := kv[1].(starlark.String)
		if !ok {
			a.fail(name, fmt.Sprintf("quote it: %q", kv[1].String()),
				"value for key %q: got %s, want string", string(k), kv[1].Type())
			return nil
		}
		out[string(k)] = string(val)
	}
	return out
}

// env accepts a dict of environment variables: string to string, every
// name and value one that model.CheckEnv accepts.
func (a *args) env(name string) map[string]string {
	m := a.strDict(name)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := model.CheckEnv(k, m[k]); err != nil {
			a.fail(name, model.EnvHint, "%v", err)
			return nil
		}
	}
	return m
}

// duration accepts a Go duration string ("1.5s", "200ms") or a number of
// seconds; it must not be negative.
func (a *args) duration(name string, def time.Duration) time.Duration {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return def
	}
	const hint = `use a duration like "500ms", "10s" or "1m30s", or a number of seconds`
	var d time.Duration
	switch v := v.(type) {
	case starlark.String:
		var err error
		if d, err = time.ParseDuration(string(v)); err != nil {
			a.fail(name, hint, "invalid duration %q", string(v))
			return def
		}
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		if math.IsNaN(f) || math.Abs(f) > math.MaxInt64/float64(time.Second) {
			a.fail(name, hint, "invalid duration %s", v)
			return def
		}
		d = time.Duration(f * float64(time.Second))
	default:
		a.wrongType(name, v, "duration string or number of seconds")
		return def
	}
	if d < 0 {
		a.fail(name, hint, "negative duration %s", d)
		return def
	}
	return d
}

// trigger is the "trigger" argument of a resource: "auto" (default) or
// "manual".
func (a *args) trigger() model.Trigger {
	return model.Trigger(a.oneOf("trigger", string(model.TriggerAuto), string(model.TriggerAuto), string(model.TriggerManual)))
}

// oneOf accepts a string from allowed.
func (a *args) oneOf(name, def string, allowed ...string) string {
	s := a.str(name, def)
	if a.err != nil {
		return def
	}
	for _, x := range allowed {
		if s == x {
			return s
		}
	}
	hint := "use one of " + quoteAll(allowed)
	if n := nearest(s, allowed); n != "" {
		hint = fmt.Sprintf("did you mean %q? ", n) + hint
	}
	a.fail(name, hint, "invalid value %q", s)
	return def
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
