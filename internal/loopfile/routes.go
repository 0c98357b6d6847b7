package loopfile

// The routes plugin: route() gives a resource a stable local URL,
// http://HOST.localhost:PORT/PATH, served by loopd's gateway, which holds
// requests while the resource restarts (docs/gateway.md).
//
// route()'s resource may be declared later in the Loopfile, so it is
// resolved after evaluation (resolveRoutes), like ship()'s.

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var routesPlugin = &plugin{
	builtins: []*builtin{routeBuiltin},
	resolve:  (*evalState).resolveRoutes,
}

// routesState is the routes plugin's state: the route() calls, whose
// resources are checked once every resource is known.
type routesState struct{ pending []*pendingRoute }

// routeHostRe is one DNS label, the NAME of NAME.localhost.
var routeHostRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// pendingRoute is a route() whose resource is checked after evaluation.
type pendingRoute struct {
	route *model.Route
	toPos model.Position // the to argument, for the error
}

var routeBuiltin = &builtin{
	Name: "route", Returns: "None", fn: builtinRoute,
	Doc: "A stable local URL for a resource, served by loopd's gateway (docs/gateway.md): while the resource restarts, requests are held instead of refused. Returns `None`.",
	Params: []Param{
		{"host", "", "the name served as `http://NAME.localhost:PORT` by loopd's gateway: `\"api\"` or `\"api.localhost\"`"},
		{"to", "", "`\"RESOURCE:PORT\"`: the resource (declared anywhere in the Loopfile) and the port it listens on (1-65535)"},
		{"path", `"/"`, "URL path prefix; the longest matching prefix wins; the path is passed on unchanged"},
		{"timeout", "None", "how long the resource may take to start answering a request (to its first response byte; streams may then run on) before the gateway answers 504, e.g. `\"5s\"`; `None`: the gateway's default (30s, or `LOOP_GATEWAY_TIMEOUT`); at most 1h"},
	},
}

// route(host, to, path="/", timeout=None) routes
// http://HOST.localhost:PORT/PATH to the resource:port in to; timeout
// bounds the wait for the first byte of each response. Returns None.
func builtinRoute(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	r := &model.Route{
		Host: a.routeHost("host"),
		Path: a.str("path", "/"),
	}
	r.Resource, r.Port = a.routeTarget("to")
	r.Timeout = a.routeTimeout("timeout")
	if a.err == nil && !strings.HasPrefix(r.Path, "/") {
		a.fail("path", `a path starts with "/", e.g. "/api"`, "got %q", r.Path)
	}
	if a.err == nil && strings.ContainsAny(r.Path, "?# ") {
		a.fail("path", `a path prefix has no query, fragment or spaces, e.g. "/api"`, "got %q", r.Path)
	}
	if a.err != nil {
		return nil, a.err
	}
	st := pluginState[routesState](s)
	for _, prev := range st.pending {
		if prev.route.Host == r.Host && prev.route.Path == r.Path {
			return nil, a.errorAt("host", "give the second route another host or path",
				"route: http://%s.localhost%s is already routed (first at %s)", r.Host, r.Path, s.relPos(prev.route.Pos))
		}
	}
	r.Pos = callerPos(thread)
	index, ok := a.index["to"]
	if !ok {
		index = -1
	}
	st.pending = append(st.pending, &pendingRoute{route: r, toPos: toPos(s.argPos(callSite(thread), "to", index))})
	s.project.Routes = append(s.project.Routes, r)
	return starlark.None, nil
}

// routeHost reads "api" or "api.localhost" and returns "api".
func (a *args) routeHost(name string) string {
	h := a.str(name, "")
	if a.err != nil {
		return ""
	}
	n := strings.TrimSuffix(strings.ToLower(h), ".localhost")
	if !routeHostRe.MatchString(n) {
		a.fail(name, `a host is a name served as http://NAME.localhost:PORT: letters, digits and "-", e.g. "api" or "api.localhost"`, "invalid host %q", h)
		return ""
	}
	return n
}

// routeTarget reads "resource:port".
func (a *args) routeTarget(name string) (string, int) {
	to := a.str(name, "")
	if a.err != nil {
		return "", 0
	}
	const hint = `to is "RESOURCE:PORT", the port the resource listens on, e.g. "api:8080"`
	res, p, ok := strings.Cut(to, ":")
	if !ok || res == "" {
		a.fail(name, hint, "invalid target %q", to)
		return "", 0
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		a.fail(name, hint, "invalid port %q in %q (want 1-65535)", p, to)
		return "", 0
	}
	return res, port
}

// routeTimeout reads timeout=: None (the gateway's default) or a
// duration above 0 and at most model.MaxRouteTimeout.
func (a *args) routeTimeout(name string) time.Duration {
	if v, ok := a.get(name); !ok || v == starlark.None {
		return 0
	}
	d := a.duration(name, 0)
	if a.err != nil {
		return 0
	}
	const hint = `timeout is how long the service may take to start answering a request through the gateway, e.g. "5s" or "2m"`
	if d <= 0 {
		a.fail(name, hint, "must be positive, got %s", d)
		return 0
	}
	if d > model.MaxRouteTimeout {
		a.fail(name, hint, "%s is longer than the limit, %s", d, model.MaxRouteTimeout)
		return 0
	}
	return d
}

// resolveRoutes runs once evaluation is over and every resource is known:
// each route() must target a declared resource.
func (s *evalState) resolveRoutes() error {
	names := make([]string, len(s.project.Resources))
	for i, r := range s.project.Resources {
		names[i] = r.Name
	}
	for _, pr := range pluginState[routesState](s).pending {
		name := pr.route.Resource
		if s.project.Resource(name) != nil {
			continue
		}
		hint := "declared resources: " + strings.Join(names, ", ")
		if len(names) == 0 {
			hint = "declare it with service(), container() or devcontainer()"
		}
		if n := nearest(name, names); n != "" {
			hint = "did you mean " + n + "? " + hint
		}
		return posError(pr.toPos, hint, "route: unknown resource %q", name)
	}
	return nil
}
