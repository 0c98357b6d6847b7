package loopfile

// devcontainer(), part of the containers plugin: a container resource
// declared by a devcontainer.json, read during evaluation.

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/devcontainer"
	"github.com/loopdev/loop/internal/model"
)

// loadDevcontainer reads a devcontainer.json; tests replace it.
var loadDevcontainer = devcontainer.Load

var devcontainerBuiltin = &builtin{
	Name: "devcontainer", Returns: "name", fn: builtinDevcontainer,
	Doc: "A container resource declared by a devcontainer.json (JSONC). Its image or build, container settings, `containerEnv`, `forwardPorts` and lifecycle commands become the resource; the workspace is bind-mounted. Returns `name`.",
	Params: []Param{
		pName,
		{"path", `""`, "the devcontainer.json relative to the project directory; `\"\"` looks it up as the spec does"},
		pSync, pOnChange, pReadiness, pResDeps, pLinks, pLabels, pTrigger, pAutoStart,
		{"deps", "None", "paths watched for this resource; `None`: what needs a rebuild, sync locals and run triggers"},
		pIgnore, pStopSig, pStopTime,
	},
}

// devcontainer(name, path="", ...) declares the container a devcontainer.json
// describes, plus the user's live-update rules. Returns name.
func builtinDevcontainer(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	r := readContainerCommon(s, a)
	config := a.str("path", "")
	syncs := a.syncs("sync")
	steps := a.steps("on_change")
	deps := a.paths(s, "deps")
	if a.err != nil {
		return nil, a.err
	}
	pos := callerPos(thread)
	res, err := loadDevcontainer(s.ctx, devcontainer.Options{
		ProjectDir: s.project.Dir,
		Path:       config,
		Env:        s.opts.Env,
		Name:       r.Name,
	})
	if err != nil {
		return nil, s.devcontainerError(err, config, pos)
	}
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if res == nil || res.Container == nil {
		return nil, errorf("", "devcontainer: the devcontainer.json declares no container")
	}
	for _, f := range res.Files {
		s.addFile(f)
	}

	images := slices.Clone(res.Images) // in build order; Image is the last one
	if len(images) == 0 && res.Image != nil {
		images = append(images, res.Image)
	}
	for _, img := range images {
		if prev := s.image(img.Name); prev != nil {
			return nil, a.errorAt("name", "rename the resource (its images are named after it) or the other image",
				"devcontainer: image %q clashes with the image declared at %s", img.Name, s.relPos(prev.Pos))
		}
	}

	c := *res.Container
	var services []*model.Resource // a Compose config's other services
	if res.Compose != nil {
		if services, err = s.devcontainerCompose(a, r, &c, res, images, pos); err != nil {
			return nil, err
		}
	}
	c.Sync = append(slices.Clone(c.Sync), syncs...)
	if len(steps) > 0 && slices.ContainsFunc(c.OnChange, func(st model.Step) bool { return st.Restart }) {
		return nil, a.errorAt("on_change", "drop the restart() step the devcontainer.json already implies",
			"devcontainer: on_change: the devcontainer.json already ends its steps with a restart")
	}
	c.OnChange = append(slices.Clone(c.OnChange), steps...)
	for _, img := range images {
		if img.Name == c.Image {
			c.Build = img
		}
	}
	normalizeContainer(&c)
	r.Container = &c
	if res.Compose == nil {
		r.Env = maps.Clone(res.Env)
	}
	if !a.has("links") {
		for _, p := range res.Ports {
			r.Links = append(r.Links, model.Link{URL: "http://127.0.0.1:" + strconv.Itoa(p)})
		}
	}
	restartOnly := r.Deps // a Compose service's develop.watch restart paths
	r.Deps = deps
	if !a.has("deps") {
		r.Deps = append(containerDeps(&c, nil), restartOnly...)
	}
	if _, err := s.declare(thread, a, r, nil); err != nil {
		return nil, err
	}
	for _, svc := range services {
		if _, err := s.declare(thread, a, svc, fromDevcontainer); err != nil {
			return nil, err
		}
		if svc.Container.Build != nil {
			svc.Container.Build.Pos = r.Pos
			s.project.Images = append(s.project.Images, svc.Container.Build)
		}
	}
	for _, img := range images {
		if img.Pos == (model.Position{}) {
			img.Pos = pos
		}
		s.project.Images = append(s.project.Images, img)
	}
	for _, w := range res.Warnings {
		s.project.Warnings = append(s.project.Warnings, fmt.Sprintf("devcontainer %q: %s", r.Name, w))
	}
	return starlark.String(r.Name), nil
}

// devcontainerError turns a devcontainer.Load error into a Loopfile error:
// a *devcontainer.Error points into the devcontainer.json (and the hint
// names the devcontainer() call), anything else at the call. Either way the
// devcontainer.json is watched, so fixing (or creating) it re-evaluates.
func (s *evalState) devcontainerError(err error, config string, pos model.Position) error {
	if config != "" {
		s.addFile(s.abs(config))
	} else {
		// Where the spec looks first; creating either re-evaluates.
		s.addFile(filepath.Join(s.project.Dir, ".devcontainer", "devcontainer.json"))
		s.addFile(filepath.Join(s.project.Dir, ".devcontainer.json"))
	}
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var de *devcontainer.Error
	if errors.As(err, &de) {
		for _, f := range de.Read {
			s.addFile(f) // the Compose files too: fixing one re-evaluates
		}
	}
	if de == nil || de.File == "" {
		return errorf("", "devcontainer: %s", strings.TrimPrefix(err.Error(), "devcontainer: "))
	}
	msg := strings.TrimPrefix(de.Msg, "devcontainer: ")
	if de.Line == 0 {
		// No place in a file (the config was not found): point at the call.
		if de.File != s.project.Dir {
			s.addFile(de.File)
			msg = s.rel(de.File) + ": " + msg
		}
		return &builtinError{msg: "devcontainer: " + msg, hint: de.Hint, index: -1}
	}
	s.addFile(de.File)
	hint := "loaded by devcontainer() at " + s.relPos(pos)
	if de.Hint != "" {
		hint = de.Hint + "; " + hint
	}
	return &Error{File: de.File, Line: de.Line, Col: de.Col, Msg: "devcontainer: " + msg, Hint: hint, cause: err}
}

// devcontainerCompose lays the dev container's Compose service under c (its
// command, ports, volumes, environment, depends_on and develop.watch, as
// compose() maps them; the devcontainer.json's settings win) and maps the
// other services to run. The dev container is the resource r names; every
// other service is a resource named after the service, its image (when
// built) SERVICE-image, as compose() names them.
func (s *evalState) devcontainerCompose(a *args, r *model.Resource, c *model.Container, res *devcontainer.Result, images []*model.Image, pos model.Position) ([]*model.Resource, error) {
	cm := res.Compose
	rename := func(deps []string) []string {
		out := slices.Clone(deps)
		for i, d := range out {
			if d == cm.Service {
				out[i] = r.Name
			}
		}
		return out
	}
	once := runOnce(cm.Project)
	mapService := func(name string) (*model.Resource, error) {
		warn := func(format string, xs ...any) {
			s.project.Warnings = append(s.project.Warnings,
				fmt.Sprintf("%s: devcontainer %q: compose: service %s: ", s.relPos(pos), r.Name, name)+fmt.Sprintf(format, xs...))
		}
		sr, err := s.composeService("", cm.Project, cm.Project.Services[name], warn)
		if err != nil {
			return nil, a.errorAt("name", "fix the service in "+s.composeFileNames(cm.Files), "devcontainer: compose: service %s: %v", name, err)
		}
		sr.ResourceDeps = rename(sr.ResourceDeps)
		sr.Container.RunOnce = once[name] && name != cm.Service // the dev container keeps running
		return sr, nil
	}

	var services []*model.Resource
	for _, name := range cm.Services {
		if !namePattern.MatchString(name) {
			return nil, a.errorAt("name", "rename the service: letters, digits, '.', '_' and '-'",
				"devcontainer: compose: service %q: invalid resource name", name)
		}
		if name == r.Name {
			return nil, a.errorAt("name", "name the devcontainer() after its service "+strconv.Quote(cm.Service)+" or anything but another service",
				"devcontainer: %q is also the name of the Compose service %q, which becomes a resource of that name", r.Name, name)
		}
		sr, err := mapService(name)
		if err != nil {
			return nil, err
		}
		if b := sr.Container.Build; b != nil {
			taken := s.image(b.Name) != nil || slices.ContainsFunc(images, func(img *model.Image) bool { return img.Name == b.Name })
			if taken {
				return nil, a.errorAt("name", "rename the image() or the service",
					"devcontainer: compose: service %s: image %q clashes with another image", name, b.Name)
			}
		}
		services = append(services, sr)
	}

	base, err := mapService(cm.Service)
	if err != nil {
		return nil, err
	}
	bc := base.Container
	c.Cmd, c.Entrypoint = bc.Cmd, bc.Entrypoint
	c.Ports = mergePorts(bc.Ports, c.Ports)
	c.Volumes = append(slices.Clone(bc.Volumes), c.Volumes...)
	c.Sync = append(slices.Clone(bc.Sync), c.Sync...)
	c.OnChange = append(slices.Clone(bc.OnChange), c.OnChange...)
	c.RebuildOn = append(slices.Clone(bc.RebuildOn), c.RebuildOn...)
	// Other services reach the dev container by its Compose service name.
	c.Aliases = slices.Clone(bc.Aliases)
	if cm.Service != r.Name {
		c.Aliases = append(c.Aliases, cm.Service)
	}
	c.Privileged = c.Privileged || bc.Privileged
	c.Init = c.Init || bc.Init
	for _, cp := range bc.CapAdd {
		if !slices.Contains(c.CapAdd, cp) {
			c.CapAdd = append(c.CapAdd, cp)
		}
	}

	r.Env = maps.Clone(base.Env) // the service's environment, containerEnv over it
	if r.Env == nil && len(res.Env) > 0 {
		r.Env = map[string]string{}
	}
	maps.Copy(r.Env, res.Env)
	for _, d := range base.ResourceDeps {
		if !slices.Contains(r.ResourceDeps, d) {
			r.ResourceDeps = append(r.ResourceDeps, d)
		}
	}
	if r.Readiness == nil { // the service's healthcheck, unless readiness= says otherwise
		r.Readiness = base.Readiness
	}
	// develop.watch restart paths: watched, not synced; what composeService
	// derived from the service's own build is the devcontainer's to say.
	built := containerDeps(bc, bc.Build)
	r.Deps = slices.DeleteFunc(slices.Clone(base.Deps), func(d string) bool { return slices.Contains(built, d) })
	return services, nil
}

// mergePorts is the service's ports, then forwardPorts on host ports the
// service does not publish already.
func mergePorts(service, forward []model.PortMap) []model.PortMap {
	out := slices.Clone(service)
	for _, p := range forward {
		if !slices.ContainsFunc(out, func(q model.PortMap) bool { return q.Host == p.Host && q.Protocol == p.Protocol }) {
			out = append(out, p)
		}
	}
	return out
}

func (s *evalState) composeFileNames(files []string) string {
	rels := make([]string, len(files))
	for i, f := range files {
		rels[i] = s.rel(f)
	}
	return strings.Join(rels, ", ")
}
