package devcontainer

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"github.com/tailscale/hujson"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/userenv"
)

// parser turns one devcontainer.json into a Result. It is used once.
type parser struct {
	ctx  context.Context // Load's; for loading Compose files
	src  *source
	opts Options
	dir  string // the devcontainer.json's directory
	vars *vars

	res *Result
	c   *model.Container

	image    string         // `image`
	imageVal *hujson.Value  // where `image` is, for errors
	build    *model.Image   // `build` or legacy `dockerFile`
	buildVal *hujson.Value  // where the build section is
	features []*featureUse  // local Features in install order
	userVal  *hujson.Value  // `containerUser`, for errors in generated builds
	rebuild  []string       // Container.RebuildOn
	seenPort map[string]int // dedupe of Container.Ports

	// The container's environment comes from containerEnv and from
	// runArgs' -e/--env; the Dev Containers CLI passes containerEnv to
	// docker run before runArgs, so runArgs win whatever the key order.
	containerEnv map[string]string
	runEnv       map[string]string
}

func newParser(file string, text []byte, opts Options) *parser {
	display := file
	if rel, err := filepath.Rel(opts.ProjectDir, file); err == nil && !strings.HasPrefix(rel, "..") {
		display = filepath.ToSlash(rel)
	}
	return &parser{
		src:  &source{file: file, display: display, text: text},
		opts: opts,
		dir:  filepath.Dir(file),
		vars: &vars{
			localFolder: opts.ProjectDir,
			env:         envMap(opts.Env),
			id:          devcontainerID(opts.ProjectDir, file),
		},
		res:      &Result{Files: []string{file}},
		c:        &model.Container{ConfigFile: file, KeepAlive: true, UserEnvProbe: userenv.LoginInteractiveShell},
		seenPort: map[string]int{},
	}
}

// str is a string value with variables substituted.
func (p *parser) str(v *hujson.Value, what string) (string, error) {
	s, err := p.src.rawString(v, what)
	return p.vars.expand(s), err
}

func (p *parser) warn(v *hujson.Value, format string, args ...any) {
	p.res.Warnings = append(p.res.Warnings, p.src.warnAt(v, format, args...))
}

func (p *parser) unsupported(m member) {
	p.warn(m.key, "property %s is not supported by loop; ignored", m.name)
}

// strMap reads an object of strings (containerEnv, build.args).
func (p *parser) strMap(v *hujson.Value, what string) (map[string]string, error) {
	obj, err := p.src.object(v, what)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range members(obj) {
		if isNull(m.val) {
			continue
		}
		s, err := p.str(m.val, what+"."+m.name)
		if err != nil {
			return nil, err
		}
		out[m.name] = s
	}
	return out, nil
}

// envMap reads an object of environment variables (containerEnv,
// remoteEnv): strings whose names and values model.CheckEnv accepts.
func (p *parser) envMap(v *hujson.Value, what string) (map[string]string, error) {
	out, err := p.strMap(v, what)
	if err != nil {
		return nil, err
	}
	for _, m := range members(v.Value.(*hujson.Object)) {
		if val, ok := out[m.name]; ok {
			if err := model.CheckEnv(m.name, val); err != nil {
				at := m.key
				if model.CheckEnv(m.name, "") == nil {
					at = m.val // the value is at fault
				}
				return nil, p.src.errAt(at, model.EnvHint, "%s: %v", what, err)
			}
		}
	}
	return out, nil
}

func (p *parser) load() (*Result, error) {
	root, err := p.src.parse()
	if err != nil {
		return nil, err
	}
	obj, err := p.src.object(&root, "devcontainer.json")
	if err != nil {
		return nil, err
	}
	props := members(obj)
	byName := map[string]member{}
	for _, m := range props {
		if !isNull(m.val) {
			byName[m.name] = m
		}
	}
	// The workspace comes first: ${containerWorkspaceFolder} depends on it.
	if _, ok := byName["dockerComposeFile"]; ok {
		if err := p.compose(byName); err != nil {
			return nil, err
		}
		// The spec's default for Compose: the service's own command runs.
		p.c.KeepAlive = false
		if err := p.composeWorkspace(byName); err != nil {
			return nil, err
		}
	} else if err := p.workspace(byName); err != nil {
		return nil, err
	}
	for _, m := range props {
		if isNull(m.val) {
			continue
		}
		if err := p.property(m); err != nil {
			return nil, err
		}
	}
	if cm := p.res.Compose; cm != nil && p.c.User == "" {
		p.c.User = cm.Project.Services[cm.Service].User // containerUser's default
	}
	if p.c.RemoteUser == "" {
		p.c.RemoteUser = p.c.User
	}
	p.res.Env = mergeEnv(p.containerEnv, p.runEnv)
	if err := p.images(root); err != nil {
		return nil, err
	}
	p.c.RebuildOn = p.rebuild
	p.res.Container = p.c
	p.res.ID = p.vars.id
	return p.res, nil
}

// property reads one top-level property into the parser's state.
func (p *parser) property(m member) error {
	if p.res.Compose != nil {
		if ok, err := p.composeProperty(m); ok {
			return err
		}
	}
	var err error
	switch m.name {
	case "$schema", "workspaceFolder", "workspaceMount":
		// $schema is editor metadata; the workspace was read first.
	case "name":
		p.res.Name, err = p.str(m.val, m.name)
	case "image":
		p.image, err = p.str(m.val, m.name)
		p.imageVal = m.val
	case "build":
		err = p.buildSection(m)
	case "dockerFile":
		err = p.legacyDockerfile(m)
	case "context":
		// Legacy top-level build context, read with dockerFile.
		if p.build == nil {
			p.build = &model.Image{}
			p.buildVal = m.val
		}
		var ctx string
		if ctx, err = p.str(m.val, m.name); err == nil {
			p.build.Context = p.abs(p.dir, ctx)
		}
	case "containerEnv":
		p.containerEnv, err = p.envMap(m.val, m.name)
	case "remoteEnv":
		p.c.RemoteEnv, err = p.envMap(m.val, m.name)
	case "userEnvProbe":
		var probe string
		if probe, err = p.str(m.val, m.name); err == nil && !userenv.Valid(probe) {
			err = p.src.errAt(m.val, "use none, loginShell, loginInteractiveShell or interactiveShell", "userEnvProbe %q is not a probe", probe)
		}
		p.c.UserEnvProbe = probe
	case "forwardPorts":
		err = p.forwardPorts(m)
	case "appPort":
		err = p.appPort(m)
	case "mounts":
		err = p.mounts(m)
	case "containerUser":
		p.c.User, err = p.str(m.val, m.name)
		p.userVal = m.val
	case "remoteUser":
		p.c.RemoteUser, err = p.str(m.val, m.name)
	case "overrideCommand":
		p.c.KeepAlive, err = p.src.boolean(m.val, m.name)
	case "privileged":
		p.c.Privileged, err = p.src.boolean(m.val, m.name)
	case "init":
		p.c.Init, err = p.src.boolean(m.val, m.name)
	case "capAdd":
		err = p.capAdd(m)
	case "runArgs":
		err = p.runArgs(m)
	case "features":
		err = p.featureList(m)
	case "initializeCommand", "onCreateCommand", "updateContentCommand",
		"postCreateCommand", "postStartCommand", "postAttachCommand":
		err = p.lifecycle(m)
	default:
		p.unsupported(m)
	}
	return err
}

// mergeEnv is base with over's entries over it; nil when both are empty.
func mergeEnv(base, over map[string]string) map[string]string {
	if len(base)+len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// abs resolves a host path against base.
func (p *parser) abs(base, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(base, path)
}

// workspace reads workspaceMount and workspaceFolder: by default the
// project is bind-mounted at /workspaces/<basename>, which is also the
// working directory.
func (p *parser) workspace(byName map[string]member) error {
	def := "/workspaces/" + filepath.Base(p.opts.ProjectDir)
	folder := def
	fm, hasFolder := byName["workspaceFolder"]
	if hasFolder {
		f, err := p.str(fm.val, "workspaceFolder")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(f, "/") {
			return p.src.errAt(fm.val, "for example \"/workspaces/app\"", "workspaceFolder %q is not an absolute container path", f)
		}
		folder = f
	}
	p.vars.containerFolder = folder
	p.c.Workdir = folder
	mm, hasMount := byName["workspaceMount"]
	if !hasMount {
		p.c.Volumes = append(p.c.Volumes, model.Volume{Source: p.opts.ProjectDir, Target: def})
		return nil
	}
	if !hasFolder {
		return p.src.errAt(mm.key, "add \"workspaceFolder\": the path in the container to open, e.g. the mount's target",
			"workspaceMount needs workspaceFolder")
	}
	s, err := p.str(mm.val, "workspaceMount")
	if err != nil || s == "" {
		return err // "" = no workspace mount
	}
	vol, warns, err := p.parseMount(s)
	if err != nil {
		return p.src.errAt(mm.val, mountHint, "workspaceMount: %v", err)
	}
	for _, w := range warns {
		p.warn(mm.val, "workspaceMount: %s", w)
	}
	if vol != nil {
		p.c.Volumes = append(p.c.Volumes, *vol)
	}
	return nil
}

// buildSection reads `build` {dockerfile, context, args, target}.
func (p *parser) buildSection(m member) error {
	obj, err := p.src.object(m.val, "build")
	if err != nil {
		return err
	}
	if p.build == nil {
		p.build = &model.Image{}
	}
	p.buildVal = m.val
	var dockerfileSet bool
	for _, bm := range members(obj) {
		if isNull(bm.val) {
			continue
		}
		what := "build." + bm.name
		switch bm.name {
		case "dockerfile", "dockerFile":
			s, err := p.str(bm.val, what)
			if err != nil {
				return err
			}
			p.build.Dockerfile = p.abs(p.dir, s)
			dockerfileSet = true
		case "context":
			s, err := p.str(bm.val, what)
			if err != nil {
				return err
			}
			p.build.Context = p.abs(p.dir, s)
		case "target":
			if p.build.Target, err = p.str(bm.val, what); err != nil {
				return err
			}
		case "args":
			if p.build.BuildArgs, err = p.strMap(bm.val, what); err != nil {
				return err
			}
		default:
			p.warn(bm.key, "property %s is not supported by loop; ignored", what)
		}
	}
	if !dockerfileSet && p.build.Dockerfile == "" {
		return p.src.errAt(m.key, "add \"dockerfile\": \"Dockerfile\" (relative to devcontainer.json)", "build needs a dockerfile")
	}
	return nil
}

// legacyDockerfile reads the top-level `dockerFile` of older configs.
func (p *parser) legacyDockerfile(m member) error {
	s, err := p.str(m.val, m.name)
	if err != nil {
		return err
	}
	if p.build == nil {
		p.build = &model.Image{}
		p.buildVal = m.val
	}
	p.build.Dockerfile = p.abs(p.dir, s)
	return nil
}

// images decides what to run: an image reference, a build, and on top of
// either a generated build that installs local Features.
func (p *parser) images(root hujson.Value) error {
	switch {
	case p.image != "" && p.build != nil:
		return p.src.errAt(p.buildVal, "keep one of them", "image and build are both set")
	case p.image == "" && p.build == nil:
		return p.src.errAt(&root, "add \"image\": \"<reference>\" or \"build\": {\"dockerfile\": \"Dockerfile\"}",
			"devcontainer.json names no image, build or dockerComposeFile")
	}
	var base string // what the Features image starts FROM
	if p.build != nil {
		if p.build.Dockerfile == "" {
			return p.src.errAt(p.buildVal, "add \"dockerFile\"", "context is set without dockerFile")
		}
		if p.build.Context == "" {
			p.build.Context = p.dir
		}
		p.build.Name = p.opts.Name
		p.build.Pos = p.pos(p.buildVal)
		p.res.Files = append(p.res.Files, p.build.Dockerfile)
		p.rebuild = append(p.rebuild, p.build.Dockerfile)
		p.res.Images = append(p.res.Images, p.build)
		base = p.build.Name
	} else {
		base = p.image
		p.c.Image = p.image
	}
	if len(p.features) > 0 {
		if p.build != nil {
			p.build.Name = p.opts.Name + "-base"
			base = p.build.Name
		}
		img, err := p.featureImage(base)
		if err != nil {
			return err
		}
		img.Base = p.build // built first; the runtime passes its tag as LOOP_BASE_IMAGE
		p.res.Images = append(p.res.Images, img)
	}
	if n := len(p.res.Images); n > 0 {
		p.res.Image = p.res.Images[n-1]
		p.c.Image = p.res.Image.Name
		p.c.Build = p.res.Image
	}
	return nil
}

func (p *parser) pos(v *hujson.Value) model.Position {
	line, col := p.src.position(v.StartOffset)
	return model.Position{File: p.src.file, Line: line, Col: col}
}

// lifecycle reads one lifecycle command: a string runs through /bin/sh, an
// array is an argv, an object is named commands run in parallel.
func (p *parser) lifecycle(m member) error {
	cmd, err := p.command(m.val, m.name)
	if err != nil || cmd == nil {
		return err
	}
	if p.c.Lifecycle == nil {
		p.c.Lifecycle = &model.Lifecycle{}
	}
	l := p.c.Lifecycle
	switch m.name {
	case "initializeCommand":
		l.Initialize = cmd
	case "onCreateCommand":
		l.OnCreate = cmd
	case "updateContentCommand":
		l.UpdateContent = cmd
	case "postCreateCommand":
		l.PostCreate = cmd
	case "postStartCommand":
		l.PostStart = cmd
	case "postAttachCommand":
		l.PostAttach = cmd
	}
	return nil
}

// command is nil for an empty command (nothing to run).
func (p *parser) command(v *hujson.Value, what string) (*model.Command, error) {
	if obj, ok := v.Value.(*hujson.Object); ok {
		par := map[string][]string{}
		for _, m := range members(obj) {
			if isNull(m.val) {
				continue
			}
			argv, err := p.argv(m.val, what+"."+m.name)
			if err != nil {
				return nil, err
			}
			if argv != nil {
				par[m.name] = argv
			}
		}
		if len(par) == 0 {
			return nil, nil
		}
		return &model.Command{Parallel: par}, nil
	}
	argv, err := p.argv(v, what)
	if err != nil || argv == nil {
		return nil, err
	}
	return &model.Command{Argv: argv}, nil
}

func (p *parser) argv(v *hujson.Value, what string) ([]string, error) {
	if isString(v) {
		s, err := p.str(v, what)
		if err != nil || strings.TrimSpace(s) == "" {
			return nil, err
		}
		return []string{"/bin/sh", "-c", s}, nil
	}
	arr, ok := v.Value.(*hujson.Array)
	if !ok {
		return nil, p.src.typeError(v, what, "a string, an array of strings or an object")
	}
	var argv []string
	for i := range arr.Elements {
		s, err := p.str(&arr.Elements[i], fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		argv = append(argv, s)
	}
	return argv, nil
}

func (p *parser) capAdd(m member) error {
	arr, err := p.src.array(m.val, m.name)
	if err != nil {
		return err
	}
	for i := range arr.Elements {
		s, err := p.str(&arr.Elements[i], fmt.Sprintf("capAdd[%d]", i))
		if err != nil {
			return err
		}
		p.addCap(s)
	}
	return nil
}

func (p *parser) addCap(c string) {
	for _, have := range p.c.CapAdd {
		if have == c {
			return
		}
	}
	p.c.CapAdd = append(p.c.CapAdd, c)
}
