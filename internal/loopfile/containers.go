package loopfile

// The containers plugin: image() declares an image built from the project,
// container() and devcontainer() declare container resources, and sync(),
// run() and restart() build their live-update rules (devcontainers.go and
// liveupdate.go hold the latter two groups; mounts.go reads ports and
// volumes).
//
// A container's image= may name an image() declared later in the Loopfile,
// so it is resolved after evaluation (resolveContainers), together with the
// default deps that depend on it.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/subpath"
)

var containersPlugin = &plugin{
	builtins: []*builtin{imageBuiltin, containerBuiltin, devcontainerBuiltin, syncBuiltin, runBuiltin, restartBuiltin},
	complete: (*evalState).resolveContainers,
}

// containersState is the containers plugin's state: the container() calls
// whose image is resolved once every image() is known.
type containersState struct{ pending []*pendingContainer }

// pendingContainer is a container() whose image is resolved after
// evaluation.
type pendingContainer struct {
	r           *model.Resource
	defaultDeps bool // deps= not given: computed once the image is known
}

var imageBuiltin = &builtin{
	Name: "image", Returns: "name", fn: builtinImage,
	Doc: "An image built from the project, for `container(image=...)`. Returns `name`.",
	Params: []Param{
		{"name", "", "what containers refer to; a valid image reference (lowercase, no spaces, no `@digest`), unique among images"},
		{"context", `"."`, "build context directory, relative to the project directory; must exist"},
		{"dockerfile", `"Dockerfile"`, "relative to the context; must exist"},
		{"target", `""`, "multi-stage build target (`\"\"`: the last stage)"},
		{"build_args", "{}", "`--build-arg`s (dict string -> string)"},
		{"ignore", "[]", "`.dockerignore`-style patterns, relative to the context"},
	},
}

// image(name, context=".", dockerfile="Dockerfile", target="",
// build_args={}, ignore=[]) declares an image built from the project.
// Returns name.
func builtinImage(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	img := &model.Image{
		Name:      a.imageRef("name", false),
		Context:   a.dir(s, "context"),
		Target:    a.str("target", ""),
		BuildArgs: a.strDict("build_args"),
		Ignore:    a.strList("ignore"),
	}
	img.Dockerfile = a.dockerfile("dockerfile", img.Context)
	if a.err != nil {
		return nil, a.err
	}
	if prev := s.image(img.Name); prev != nil {
		return nil, a.errorAt("name", "rename one of them; image names are unique across the project",
			"image: duplicate image name %q (first declared at %s)", img.Name, s.relPos(prev.Pos))
	}
	img.Pos = callerPos(thread)
	if len(img.BuildArgs) == 0 {
		img.BuildArgs = nil
	}
	if len(img.Ignore) == 0 {
		img.Ignore = nil
	}
	s.project.Images = append(s.project.Images, img)
	return starlark.String(img.Name), nil
}

// image returns the image called name, or nil.
func (s *evalState) image(name string) *model.Image {
	for _, img := range s.project.Images {
		if img.Name == name {
			return img
		}
	}
	return nil
}

// imageRef reads an image reference ("api", "postgres:16",
// "ghcr.io/org/app@sha256:..."). An image() name may not have a digest.
func (a *args) imageRef(name string, digestOK bool) string {
	s := a.str(name, "")
	if a.err != nil {
		return ""
	}
	const hint = `an image reference is lowercase, without spaces: [registry/]name[:tag][@digest], e.g. "postgres:16"`
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "invalid reference format"), ": ")
		if why != "" {
			why = ": " + why
		}
		a.fail(name, hint, "invalid image reference %q%s", s, why)
		return ""
	}
	if _, ok := ref.(reference.Digested); ok && !digestOK {
		a.fail(name, "drop the @digest; loop tags the image it builds", "image name %q has a digest", s)
		return ""
	}
	return s
}

// dockerfile reads a Dockerfile path relative to the build context (as in
// Compose); it must exist.
func (a *args) dockerfile(name, context string) string {
	df := a.str(name, "Dockerfile")
	if a.err != nil {
		return ""
	}
	if df == "" {
		a.fail(name, `give the Dockerfile's path, e.g. "Dockerfile.dev"`, "empty path")
		return ""
	}
	abs := df
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(context, df)
	}
	abs = filepath.Clean(abs)
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		a.fail(name, "create it or fix the path; the dockerfile is relative to the context directory ("+context+")",
			"Dockerfile %q does not exist", df)
	case fi.IsDir():
		a.fail(name, "name the Dockerfile itself, relative to the context directory", "%q is a directory", df)
	}
	return abs
}

var containerBuiltin = &builtin{
	Name: "container", Returns: "name", fn: builtinContainer,
	Doc: "A service that runs in a container, kept up to date without rebuilding: changed files are synced into it, `run()` steps run in it and the service is restarted in place. A change no sync rule covers, or one under `rebuild_on`, rebuilds the image and recreates the container. With `run_once=True`, a task in a container. Returns `name`.",
	Params: []Param{
		pName,
		{"image", "", "the name of an `image()` declared anywhere in the Loopfile, or an image reference that must be present locally (`\"postgres:16\"`)"},
		{"cmd", "None", "`None`: the image's command; a string runs as `/bin/sh -c cmd` (the image needs a shell); a list is the argv"},
		{"entrypoint", "None", "as `cmd`; `None`: the image's entrypoint; `[]` clears it"},
		{"env", "{}", "the container's environment (dict string -> string)"},
		{"ports", "[]", "ports published on the host: `8080`, `\"8080:80\"`, `\"5353:53/udp\"`"},
		{"volumes", "[]", "`\"SOURCE:TARGET\"` or `\"SOURCE:TARGET:ro\"`; a source starting with `.`, `/` or a drive letter (`C:\\`, `C:/`) is a host path, anything else a named volume"},
		pSync, pOnChange,
		{"rebuild_on", "[]", "changes here rebuild the image and recreate the container"},
		pReadiness, pResDeps, pLinks, pLabels,
		{"user", `""`, "container user (`\"1000:1000\"`, `\"node\"`); `\"\"`: the image's"},
		{"workdir", `""`, "absolute working directory in the container; `\"\"`: the image's"},
		pCDeps, pIgnore, pTrigger, pAutoStart, pStopSig, pStopTime,
		{"run_once", "False", "`True`: the container runs to completion like a `task()` (exit 0 is success, no crash restarts; a change runs it again, dependants after it), e.g. tests or a migration in the dev image; not with `on_change`"},
	},
}

// container(name, image, ...) declares a service that runs in a container.
// Returns name.
func builtinContainer(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	r := readContainerCommon(s, a)
	c := &model.Container{
		Image:      a.imageRef("image", true),
		Cmd:        a.containerCmd("cmd"),
		Entrypoint: a.entrypoint("entrypoint"),
		Ports:      a.portMaps("ports"),
		Volumes:    a.volumes(s, "volumes"),
		Sync:       a.syncs("sync"),
		OnChange:   a.steps("on_change"),
		RebuildOn:  a.paths(s, "rebuild_on"),
		User:       a.str("user", ""),
		Workdir:    a.containerPath("workdir"),
		RunOnce:    a.boolean("run_once", false),
	}
	if c.RunOnce && len(c.OnChange) > 0 && a.err == nil {
		a.fail("on_change", "drop on_change (a change re-runs the container), or run_once",
			"run_once: a container that runs to completion has no running service for on_change steps")
	}
	r.Deps = a.paths(s, "deps")
	r.Container = c
	normalizeContainer(c)
	if _, err := s.declare(thread, a, r, nil); err != nil {
		return nil, err
	}
	st := pluginState[containersState](s)
	st.pending = append(st.pending, &pendingContainer{r: r, defaultDeps: !a.has("deps")})
	return starlark.String(r.Name), nil
}

// readContainerCommon reads the arguments container() and devcontainer()
// share. The resource runs in the project directory.
func readContainerCommon(s *evalState, a *args) *model.Resource {
	r := &model.Resource{
		Name:         a.str("name", ""),
		Kind:         model.KindContainer,
		Dir:          s.project.Dir,
		Ignore:       a.strList("ignore"),
		ResourceDeps: a.strList("resource_deps"),
		Readiness:    a.probe("readiness"),
		Links:        a.links("links"),
		Labels:       a.strList("labels"),
		Trigger:      a.trigger(),
		AutoStart:    a.boolean("auto_start", true),
		StopSignal:   a.signal("stop_signal"),
		StopTimeout:  a.duration("stop_timeout", defaultStopTimeout),
	}
	if a.declares("env") { // devcontainer() takes its env from devcontainer.json
		r.Env = a.env("env")
	}
	if a.err == nil && !namePattern.MatchString(r.Name) {
		a.fail("name", "use letters, digits, '.', '_' and '-', starting with a letter or digit",
			"invalid resource name %q", r.Name)
	}
	for _, d := range r.ResourceDeps {
		if d == "" && a.err == nil {
			a.fail("resource_deps", "", "empty resource name")
		}
	}
	return r
}

// normalizeContainer makes empty lists nil, so that `ports=[]` and no ports
// declare the same container (model.Resource.Equal).
func normalizeContainer(c *model.Container) {
	c.Ports, c.Volumes, c.Sync = nilIfEmpty(c.Ports), nilIfEmpty(c.Volumes), nilIfEmpty(c.Sync)
	c.OnChange, c.RebuildOn = nilIfEmpty(c.OnChange), nilIfEmpty(c.RebuildOn)
}

// nilIfEmpty is s, or nil when s is empty: `x=[]` and no x declare the
// same thing (model.Resource.Equal compares with reflect.DeepEqual).
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// resolveContainers runs once evaluation is over and every image() is
// known: a container's image names an image() (then Container.Build is
// set) or is a reference to an image present locally. Containers without
// deps= get their default deps here, since they include the build context.
func (s *evalState) resolveContainers() error {
	names := make([]string, len(s.project.Images))
	for i, img := range s.project.Images {
		names[i] = img.Name
	}
	for _, pc := range pluginState[containersState](s).pending {
		c := pc.r.Container
		c.Build = s.image(c.Image)
		if c.Build == nil {
			if n := nearest(c.Image, names); n != "" {
				s.project.Warnings = append(s.project.Warnings, fmt.Sprintf(
					"%s: container %q: image %q is not declared by image(), so it is used as an image reference; did you mean %q?",
					s.relPos(pc.r.Pos), pc.r.Name, c.Image, n))
			}
		}
		if pc.defaultDeps {
			pc.r.Deps = containerDeps(c, c.Build)
		}
	}
	return nil
}

// containerDeps is the default deps of a container built from build (nil
// for none): liveUpdateDeps of its one image.
func containerDeps(c *model.Container, build *model.Image) []string {
	return liveUpdateDeps([]*model.Image{build}, c.Sync, c.RebuildOn, c.OnChange)
}

// liveUpdateDeps is the default deps of a resource with live update (a
// container, a Kubernetes workload): the build context of each image built
// for it (nil for none; for a generated context, the folders it copies),
// every sync local, every rebuild_on path and every run() trigger. Paths
// inside another one are dropped.
func liveUpdateDeps(builds []*model.Image, syncs []model.SyncRule, rebuildOn []string, steps []model.Step) []string {
	var all []string
	for _, build := range builds {
		switch {
		case build != nil && build.Generated != nil:
			for _, cp := range build.Generated.Copies {
				all = append(all, cp.From)
			}
		case build != nil:
			all = append(all, build.Context)
			if !subpath.IsWithin(build.Dockerfile, build.Context) {
				all = append(all, build.Dockerfile)
			}
		}
	}
	for _, r := range syncs {
		all = append(all, r.Local)
	}
	all = append(all, rebuildOn...)
	for _, st := range steps {
		all = append(all, st.Trigger...)
	}
	var deps []string
	for i, p := range all {
		covered := slices.ContainsFunc(all, func(q string) bool { return q != p && subpath.IsWithin(p, q) }) ||
			slices.Contains(all[:i], p)
		if !covered {
			deps = append(deps, p)
		}
	}
	return deps
}

// containerCmd reads a command run in a container: a string runs with
// /bin/sh -c (so the image needs a shell), a list is the argv as is.
func (a *args) containerCmd(name string) []string {
	argv := a.cmd(name)
	if _, isStr := a.value(name).(starlark.String); isStr && argv != nil {
		argv[0] = "/bin/sh"
	}
	return argv
}

// entrypoint is containerCmd, except that an empty list clears the image's
// entrypoint (an empty, non-nil argv).
func (a *args) entrypoint(name string) []string {
	if v, ok := a.value(name).(starlark.Indexable); ok && a.err == nil && v.Len() == 0 {
		if _, isStr := v.(starlark.String); !isStr {
			return []string{}
		}
	}
	return a.containerCmd(name)
}

// containerPath reads an absolute path in the container, or "".
func (a *args) containerPath(name string) string {
	p := a.str(name, "")
	if a.err != nil || p == "" {
		return p
	}
	if !path.IsAbs(p) {
		a.fail(name, fmt.Sprintf("use an absolute path in the container, e.g. %q", path.Join("/", p)),
			"%q is not an absolute path", p)
		return ""
	}
	return path.Clean(p)
}

// list returns argument name as a list or tuple, or nil (recording a type
// error) when it is something else.
func (a *args) list(name, want string) starlark.Indexable {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		a.wrongType(name, v, want)
		return nil
	}
	return seq
}

const portHint = `use a port (8080), "HOST:CONTAINER" ("8080:80") or "HOST:CONTAINER/udp"`

const volumeHint = `use "./dir:/path" or "/abs/dir:/path" (on Windows "C:/abs/dir:/path") for a host directory, "name:/path" for a named volume, with ":ro" to mount read-only`
