package loopfile

// The resources plugin: service(), task() and link().

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/signame"
)

var resourcesPlugin = &plugin{builtins: []*builtin{serviceBuiltin, taskBuiltin, linkBuiltin}}

// Default stop settings for services.
const (
	defaultStopSignal  = "SIGTERM"
	defaultStopTimeout = 10 * time.Second
)

// namePattern restricts resource names to what is safe in a URL, a
// container label and a shell argument.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

var serviceBuiltin = &builtin{
	Name: "service", Returns: "name", fn: builtinService,
	Doc: "A long-running process, restarted when its deps change. Returns `name`, so the result can be used in another resource's `resource_deps`.",
	Params: []Param{
		pName, pCmd, pDir, pEnv, pDeps, pIgnore, pReadiness, pResDeps,
		{"ports", "[]", "ports the service listens on (1-65535, checked free before start)"},
		pLinks, pLabels, pTrigger, pAutoStart, pStopSig, pStopTime,
		{"restart", `"on-change"`, "`\"on-change\"` or `\"never\"` (the service reloads itself)"},
	},
}

// service(name, cmd, ...) declares a long-running process. Returns name.
func builtinService(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	r := readCommon(s, a, model.KindService)
	r.Readiness = a.probe("readiness")
	r.Ports = a.ports("ports")
	r.Links = a.links("links")
	r.StopSignal = a.signal("stop_signal")
	r.StopTimeout = a.duration("stop_timeout", defaultStopTimeout)
	r.Restart = model.RestartPolicy(a.oneOf("restart", string(model.RestartOnChange),
		string(model.RestartOnChange), string(model.RestartNever)))
	return s.declare(thread, a, r, nil)
}

var taskBuiltin = &builtin{
	Name: "task", Returns: "name", fn: builtinTask,
	Doc: "A command that runs to completion (build, generate, migrate, test); ready when it exits 0, and runs again when its deps change. Returns `name`.",
	Params: []Param{
		pName, pCmd, pDir, pEnv, pDeps, pIgnore, pResDeps, pLabels, pTrigger, pAutoStart,
	},
}

// task(name, cmd, ...) declares a command that runs to completion. Returns name.
func builtinTask(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	r := readCommon(s, a, model.KindTask)
	// A task has no stop arguments, but the engine may have to stop one
	// that is still running when it is triggered again.
	r.StopSignal, r.StopTimeout = defaultStopSignal, defaultStopTimeout
	return s.declare(thread, a, r, nil)
}

// readCommon reads the arguments services and tasks share.
func readCommon(s *evalState, a *args, kind model.Kind) *model.Resource {
	r := &model.Resource{
		Name:         a.str("name", ""),
		Kind:         kind,
		Cmd:          a.cmd("cmd"),
		Env:          a.env("env"),
		Ignore:       a.strList("ignore"),
		ResourceDeps: a.strList("resource_deps"),
		Labels:       a.strList("labels"),
		Trigger:      a.trigger(),
		AutoStart:    a.boolean("auto_start", true),
	}
	if a.err == nil && !namePattern.MatchString(r.Name) {
		a.fail("name", "use letters, digits, '.', '_' and '-', starting with a letter or digit",
			"invalid resource name %q", r.Name)
	}
	r.Dir = a.dir(s, "dir")
	r.Deps = a.paths(s, "deps")
	if !a.has("deps") {
		r.Deps = []string{r.Dir}
	}
	for _, d := range r.ResourceDeps {
		if d == "" && a.err == nil {
			a.fail("resource_deps", "", "empty resource name")
		}
	}
	return r
}

// declare adds r, declared by the call whose arguments are a, to the
// project: normalized, at the caller's position, and only under a name no
// resource has yet. Every resource is declared here, whichever builtin
// makes it. from is nil for the resource the call names itself; for one
// mapped from a Compose service the call read, it says how the error for a
// taken name reads.
func (s *evalState) declare(thread *starlark.Thread, a *args, r *model.Resource, from *composeOrigin) (starlark.Value, error) {
	if a.err != nil {
		return nil, a.err
	}
	r.Pos = callerPos(thread)
	normalize(r)
	if prev := s.project.Resource(r.Name); prev != nil {
		if from != nil {
			return nil, a.errorAt(from.arg, "rename the service or the other resource",
				"%s: service %q clashes with the resource declared at %s", from.prefix, r.Name, s.relPos(prev.Pos))
		}
		return nil, a.errorAt("name", "rename one of them; resource names are unique across the project",
			"%s: duplicate resource name %q (first declared at %s)", a.fn, r.Name, s.relPos(prev.Pos))
	}
	s.project.Resources = append(s.project.Resources, r)
	return starlark.String(r.Name), nil
}

// A composeOrigin says that a resource maps a Compose service: the error
// for its taken name starts with prefix and points at the call's argument
// arg, where the Compose file comes from.
type composeOrigin struct{ prefix, arg string }

var (
	fromCompose      = &composeOrigin{prefix: "compose", arg: "path"}
	fromDevcontainer = &composeOrigin{prefix: "devcontainer: compose", arg: "name"}
)

// normalize makes empty lists and maps nil, so that `env={}` and no env
// declare the same resource (model.Resource.Equal).
func normalize(r *model.Resource) {
	if len(r.Env) == 0 {
		r.Env = nil
	}
	for _, p := range []*[]string{&r.Deps, &r.Ignore, &r.ResourceDeps, &r.Labels} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	if len(r.Ports) == 0 {
		r.Ports = nil
	}
	if len(r.Links) == 0 {
		r.Links = nil
	}
}

// relPos renders p with its file relative to the project directory.
func (s *evalState) relPos(p model.Position) string {
	p.File = s.rel(p.File)
	return p.String()
}

// dir reads a directory relative to the project directory; it must exist.
func (a *args) dir(s *evalState, name string) string {
	d := a.str(name, ".")
	if a.err != nil {
		return s.project.Dir
	}
	abs := s.abs(d)
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		a.fail(name, "create it or fix the path; it is relative to the Loopfile's directory",
			"directory %q does not exist", d)
	case !fi.IsDir():
		a.fail(name, "", "%q is not a directory", d)
	}
	return abs
}

// paths reads a list of paths relative to the project directory and makes
// them absolute. They need not exist yet.
func (a *args) paths(s *evalState, name string) []string {
	ps := a.strList(name)
	for i, p := range ps {
		ps[i] = s.abs(p)
	}
	return ps
}

// abs resolves p against the project directory.
func (s *evalState) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(s.project.Dir, p)
}

// ports reads a list of TCP ports.
func (a *args) ports(name string) []int {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		a.wrongType(name, v, "list of ints")
		return nil
	}
	var out []int
	for i := range seq.Len() {
		var p int
		if err := starlark.AsInt(seq.Index(i), &p); err != nil {
			a.fail(name, "", "element %d: got %s, want int", i, seq.Index(i).Type())
			return nil
		}
		if p < 1 || p > 65535 {
			a.fail(name, "", "port %d out of range 1-65535", p)
			return nil
		}
		out = append(out, p)
	}
	return out
}

// links reads a list of URL strings or link() values.
func (a *args) links(name string) []model.Link {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		a.wrongType(name, v, "list of URL strings or link() values")
		return nil
	}
	var out []model.Link
	for i := range seq.Len() {
		switch x := seq.Index(i).(type) {
		case starlark.String:
			if err := checkURL(string(x)); err != nil {
				a.fail(name, "", "element %d: %v", i, err)
				return nil
			}
			out = append(out, model.Link{URL: string(x)})
		case *linkValue:
			out = append(out, x.link)
		default:
			a.fail(name, "", "element %d: got %s, want URL string or link()", i, x.Type())
			return nil
		}
	}
	return out
}

// signal reads a stop signal name, with or without the SIG prefix.
func (a *args) signal(name string) string {
	s := a.str(name, defaultStopSignal)
	if a.err != nil {
		return defaultStopSignal
	}
	if canon := signame.Canonical(s); signame.IsStop(canon) {
		return canon
	}
	a.fail(name, "use one of "+strings.Join(signame.Stop, ", "), "unknown signal %q", s)
	return defaultStopSignal
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("invalid URL %q (want e.g. \"http://localhost:8080\")", s)
	}
	return nil
}

// linkValue is what link() returns: a URL with a display name.
type linkValue struct{ link model.Link }

var _ starlark.Value = (*linkValue)(nil)

func (l *linkValue) String() string {
	return fmt.Sprintf("link(%q, name=%q)", l.link.URL, l.link.Name)
}
func (l *linkValue) Type() string          { return "link" }
func (l *linkValue) Freeze()               {}
func (l *linkValue) Truth() starlark.Bool  { return true }
func (l *linkValue) Hash() (uint32, error) { return starlark.String(l.link.URL).Hash() }

var linkBuiltin = &builtin{
	Name: "link", Returns: "link", fn: builtinLink,
	Doc: "A URL with a display name, for `links=`. A plain string in `links=` is a link without a name.",
	Params: []Param{
		{"url", "", "the URL"},
		{"name", `""`, "display name"},
	},
}

// link(url, name="") returns a link for a resource's links=.
func builtinLink(_ *starlark.Thread, a *args) (starlark.Value, error) {
	l := model.Link{URL: a.str("url", ""), Name: a.str("name", "")}
	if a.err != nil {
		return nil, a.err
	}
	if err := checkURL(l.URL); err != nil {
		return nil, errorf("", "link: %v", err)
	}
	return &linkValue{link: l}, nil
}
