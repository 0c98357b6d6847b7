package devcontainer

// Compose-based configs: dockerComposeFile, service, runServices. The
// Compose files are loaded here (with package compose, as `docker compose
// -f a -f b` merges them) so that a bad file or service name is an error at the
// devcontainer.json value, and so that Features can extend the service's
// image. Mapping the services onto container resources is the Loopfile's
// job (compose() does the same), from Result.Compose.

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/tailscale/hujson"

	"github.com/loopdev/loop/internal/compose"
)

// Compose is what a Compose-based devcontainer.json declares besides the
// dev container itself.
type Compose struct {
	Files   []string       // absolute, in merge order
	Project *types.Project // the merged project, paths resolved
	Service string         // the dev container's service
	// Services are the other services to run: runServices (default: every
	// service) and what they depend on, without Service; sorted.
	Services []string
}

// composeIgnored are the properties that only image and build configs have;
// with dockerComposeFile the Compose file says the same thing.
var composeIgnored = map[string]string{
	"workspaceMount": "mount the workspace with the service's volumes",
	"runArgs":        "set the service's options in the Compose file",
	"appPort":        "use forwardPorts, or the service's ports",
}

// composeConflicts name what to run, which the service already does.
var composeConflicts = []string{"image", "build", "dockerFile", "context"}

// compose reads dockerComposeFile, service and runServices, loads the
// Compose files and makes the service's image or build the one to run.
func (p *parser) compose(byName map[string]member) error {
	fm := byName["dockerComposeFile"]
	for _, name := range composeConflicts {
		if m, ok := byName[name]; ok {
			return p.src.errAt(m.key, "remove it: the service's image or build in the Compose file is what runs",
				"%s cannot be used with dockerComposeFile", name)
		}
	}
	sm, ok := byName["service"]
	if !ok {
		return p.src.errAt(fm.key, "add \"service\": the Compose service that is the dev container",
			"dockerComposeFile needs service")
	}
	files, err := p.composeFiles(fm)
	if err != nil {
		return err
	}
	if env := filepath.Join(filepath.Dir(files[0]), ".env"); fileExists(env) {
		p.res.Files = append(p.res.Files, env)
	}
	service, err := p.str(sm.val, "service")
	if err != nil {
		return err
	}
	cp, err := p.loadCompose(fm, files)
	if err != nil {
		return err
	}
	names := cp.ServiceNames()
	svc, ok := cp.Services[service]
	if !ok {
		return p.src.errAt(sm.val, "name one of: "+strings.Join(names, ", "),
			"service %q is not in %s", service, p.composeNames(files))
	}
	run := names
	if rm, ok := byName["runServices"]; ok {
		if run, err = p.runServices(rm, cp, service); err != nil {
			return err
		}
	}
	p.res.Compose = &Compose{Files: files, Project: cp, Service: service, Services: dependencies(cp, run, service)}
	return p.serviceImage(sm.val, svc)
}

// composeFiles reads dockerComposeFile: a path or an array of paths,
// relative to devcontainer.json, which must exist.
func (p *parser) composeFiles(m member) ([]string, error) {
	vals, whats := []*hujson.Value{m.val}, []string{m.name}
	if arr, ok := m.val.Value.(*hujson.Array); ok {
		vals, whats = nil, nil
		for i := range arr.Elements {
			vals = append(vals, &arr.Elements[i])
			whats = append(whats, fmt.Sprintf("%s[%d]", m.name, i))
		}
		if len(vals) == 0 {
			return nil, p.src.errAt(m.val, "name the Compose file, e.g. \"docker-compose.yml\"", "dockerComposeFile is empty")
		}
	} else if !isString(m.val) {
		return nil, p.src.typeError(m.val, m.name, "a string or an array of strings")
	}
	var files []string
	for i, v := range vals {
		what := whats[i]
		s, err := p.str(v, what)
		if err != nil {
			return nil, err
		}
		f := p.abs(p.dir, s)
		p.res.Files = append(p.res.Files, f) // watched, even when missing or broken
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			return nil, p.src.errAt(v, "paths are relative to "+p.rel(p.dir),
				"%s: Compose file %s not found", what, p.rel(f))
		}
		if err := checkFile(f); err != nil {
			return nil, p.src.errAt(v, "name a Compose file", "%s: Compose file %s: %v", what, p.rel(f), err)
		}
		files = append(files, f)
	}
	return files, nil
}

// loadCompose merges the Compose files as `docker compose -f a -f b` does:
// the project directory is the first file's, ${VAR} comes from the local
// environment and the .env file there.
func (p *parser) loadCompose(fm member, files []string) (*types.Project, error) {
	cp, err := compose.Load(p.ctx, files, compose.Options{
		Name: filepath.Base(p.opts.ProjectDir) + "_devcontainer", Env: p.opts.Env,
	})
	if err != nil {
		return nil, p.composeError(fm, files, err)
	}
	return cp, nil
}

// composeError points at the Compose file's line when compose-go names
// one, else at dockerComposeFile.
func (p *parser) composeError(fm member, files []string, err error) error {
	const hint = "fix the Compose file; `docker compose config` shows how Compose reads it"
	msg, file, line, col := compose.Locate(err, files)
	if file != "" && line > 0 {
		return &Error{File: file, Line: line, Col: col, Msg: "compose: " + msg, Hint: hint}
	}
	return p.src.errAt(fm.val, hint, "dockerComposeFile: %s", msg)
}

// runServices reads the services to start; the dev container's service
// is added when it is not listed.
func (p *parser) runServices(m member, cp *types.Project, service string) ([]string, error) {
	arr, err := p.src.array(m.val, m.name)
	if err != nil {
		return nil, err
	}
	var run []string
	for i := range arr.Elements {
		v := &arr.Elements[i]
		s, err := p.str(v, fmt.Sprintf("runServices[%d]", i))
		if err != nil {
			return nil, err
		}
		if _, ok := cp.Services[s]; !ok {
			return nil, p.src.errAt(v, "name one of: "+strings.Join(cp.ServiceNames(), ", "),
				"runServices[%d]: service %q is not in the Compose files", i, s)
		}
		run = append(run, s)
	}
	if !slices.Contains(run, service) {
		// As the Dev Containers CLI does: the dev container always runs.
		run = append(run, service)
	}
	return run, nil
}

// dependencies is run and what it depends on (depends_on, transitively),
// without the dev container's service, sorted.
func dependencies(cp *types.Project, run []string, service string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for dep := range cp.Services[name].DependsOn {
			if _, ok := cp.Services[dep]; ok {
				visit(dep)
			}
		}
	}
	for _, name := range run {
		visit(name)
	}
	visit(service)
	delete(seen, service)
	return slices.Sorted(maps.Keys(seen))
}

// serviceImage makes the service's build (or image) the dev container's,
// so that Features extend it and the image is named after the resource.
func (p *parser) serviceImage(at *hujson.Value, svc types.ServiceConfig) error {
	b := svc.Build
	if b == nil {
		if svc.Image == "" {
			return p.src.errAt(at, "give the service an image or a build in the Compose file",
				"service %q has neither image nor build", svc.Name)
		}
		p.image = svc.Image
		p.imageVal = at
		return nil
	}
	img, err := compose.Image(b)
	if err != nil {
		return p.src.errAt(at, "put the Dockerfile in a file", "service %q: %v", svc.Name, err)
	}
	p.build, p.buildVal = img, at
	return nil
}

// composeWorkspace: no workspace mount (the Compose file's volumes mount
// it); the working directory is workspaceFolder, else the service's
// working_dir, else "/" as the spec says.
func (p *parser) composeWorkspace(byName map[string]member) error {
	folder := p.res.Compose.Project.Services[p.res.Compose.Service].WorkingDir
	if folder == "" {
		folder = "/"
	}
	if fm, ok := byName["workspaceFolder"]; ok {
		f, err := p.str(fm.val, "workspaceFolder")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(f, "/") {
			return p.src.errAt(fm.val, "for example the target of the service's workspace volume", "workspaceFolder %q is not an absolute container path", f)
		}
		folder = f
	}
	p.vars.containerFolder = folder
	p.c.Workdir = folder
	return nil
}

// composeProperty handles the properties whose meaning differs with
// dockerComposeFile; ok is false for the others.
func (p *parser) composeProperty(m member) (ok bool, err error) {
	switch m.name {
	case "dockerComposeFile", "service", "runServices":
		return true, nil // read by compose
	case "shutdownAction":
		s, err := p.str(m.val, m.name)
		if err != nil {
			return true, err
		}
		switch s {
		case "stopCompose":
		case "none":
			p.warn(m.val, "shutdownAction none: loop keeps the containers while the daemon runs and `loop down` removes them; ignored")
		default:
			return true, p.src.errAt(m.val, "with dockerComposeFile it is \"none\" or \"stopCompose\"", "shutdownAction %q is not valid here", s)
		}
		return true, nil
	}
	if hint, ok := composeIgnored[m.name]; ok {
		p.warn(m.key, "property %s only applies to image and build configs; ignored with dockerComposeFile (%s)", m.name, hint)
		return true, nil
	}
	return false, nil
}

// rel is path relative to the project when it is inside it.
func (p *parser) rel(path string) string {
	if r, err := filepath.Rel(p.opts.ProjectDir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

func (p *parser) composeNames(files []string) string {
	rels := make([]string, len(files))
	for i, f := range files {
		rels[i] = p.rel(f)
	}
	return strings.Join(rels, ", ")
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}
