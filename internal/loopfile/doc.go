package loopfile

// The builtins as editors (completion, hover, signature help) and docs see
// them: names, parameters in order with their defaults, and a
// one-paragraph doc, as docs/loopfile.md describes them. It is read from
// the plugins' builtin declarations, the same ones that bind a call's
// arguments, so it cannot drift from what evaluation accepts.

import (
	"slices"
	"strings"
)

// Param is one parameter of a builtin.
type Param struct {
	Name    string
	Default string // Starlark source of the default; "" = required
	Doc     string
}

// BuiltinDoc documents one builtin.
type BuiltinDoc struct {
	Name    string
	Params  []Param // in positional order
	Returns string  // what the call returns ("name", "probe", ...)
	Doc     string  // a paragraph (Markdown)
}

// Signature renders `service(name, cmd, dir=".", ...)`.
func (b BuiltinDoc) Signature() string {
	return b.Name + "(" + strings.Join(b.ParamLabels(), ", ") + ")"
}

// ParamLabels renders each parameter as it appears in Signature: `name`
// or `dir="."`.
func (b BuiltinDoc) ParamLabels() []string {
	out := make([]string, len(b.Params))
	for i, p := range b.Params {
		out[i] = p.Name
		if p.Default != "" {
			out[i] += "=" + p.Default
		}
	}
	return out
}

// Param returns the parameter called name.
func (b BuiltinDoc) Param(name string) (Param, bool) {
	for _, p := range b.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Builtins returns every builtin of the Loopfile dialect, sorted by name.
// The result is a fresh copy.
func Builtins() []BuiltinDoc {
	var out []BuiltinDoc
	for _, b := range builtins() {
		out = append(out, b.doc())
	}
	slices.SortFunc(out, func(a, b BuiltinDoc) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LookupBuiltin returns the doc of the builtin called name.
func LookupBuiltin(name string) (BuiltinDoc, bool) {
	if b, ok := builtins()[name]; ok {
		return b.doc(), true
	}
	return BuiltinDoc{}, false
}

// doc is b's documentation, a copy.
func (b *builtin) doc() BuiltinDoc {
	return BuiltinDoc{Name: b.Name, Params: slices.Clone(b.Params), Returns: b.Returns, Doc: b.Doc}
}

// Parameters several builtins share.
var (
	pName      = Param{"name", "", "unique across the project; letters, digits, `.`, `_`, `-`, starting with a letter or digit"}
	pCmd       = Param{"cmd", "", "a string runs as `sh -c cmd`; a list of strings is the argv as is"}
	pDir       = Param{"dir", `"."`, "working directory, relative to the project directory; must exist"}
	pEnv       = Param{"env", "{}", "dict string -> string added to the environment `loop up` was run with (values must be strings)"}
	pDeps      = Param{"deps", "[dir]", "files and directories watched for this resource (need not exist yet); `[]` watches nothing"}
	pIgnore    = Param{"ignore", "[]", "gitignore-style patterns, relative to the project directory"}
	pReadiness = Param{"readiness", "None", "an `http_probe()`, `tcp_probe()` or `exec_probe()`; without one the resource is ready once started"}
	pResDeps   = Param{"resource_deps", "[]", "resources that must be ready first; when one of them runs again, this one restarts too"}
	pLinks     = Param{"links", "[]", "URL strings or `link()` values shown next to the resource"}
	pLabels    = Param{"labels", "[]", "strings for grouping in the CLI and portal"}
	pTrigger   = Param{"trigger", `"auto"`, "`\"auto\"` or `\"manual\"`: with manual, file changes do nothing until `loop trigger NAME`"}
	pAutoStart = Param{"auto_start", "True", "`False`: not started by `loop up`, only by `loop trigger NAME`"}
	pStopSig   = Param{"stop_signal", `"SIGTERM"`, "SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1 or SIGUSR2 (the SIG prefix and case are optional)"}
	pStopTime  = Param{"stop_timeout", `"10s"`, "how long to wait after the stop signal before SIGKILL (a duration)"}
	pSync      = Param{"sync", "[]", "`sync()` rules: what to copy into the running container"}
	pOnChange  = Param{"on_change", "[]", "`run()` and `restart()` steps after a sync, in order; `restart()` at most once, and last"}
	pCDeps     = Param{"deps", "None", "paths watched for this resource; `None`: derived from the image context, sync locals, rebuild_on and run triggers; `[]` watches nothing"}
	pPeriod    = Param{"period", `"100ms"`, "how often to probe (a duration)"}
	pTimeout   = Param{"timeout", `"1s"`, "how long one probe may take (a duration)"}
)
