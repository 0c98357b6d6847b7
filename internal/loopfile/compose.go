package loopfile

// The compose plugin: compose() imports the services of a Docker Compose
// file (loaded by package compose) as container resources, with
// their develop.watch rules mapped onto sync(), restart() and rebuild_on.
// What loop cannot honour becomes a Project warning, never a silent drop.
// docs/compose.md has the mapping table.

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/compose"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/signame"
	loopsync "github.com/loopdev/loop/internal/sync"
)

var composePlugin = &plugin{builtins: []*builtin{composeBuiltin}}

// composeKeys are the service keys compose() maps; any other key a service
// sets is reported as a warning. "networks" is checked on its own.
var composeKeys = map[string]bool{
	"image": true, "build": true, "command": true, "entrypoint": true,
	"environment": true, "env_file": true, "ports": true, "volumes": true,
	"user": true, "working_dir": true, "depends_on": true, "develop": true,
	"stop_signal": true, "stop_grace_period": true, "privileged": true,
	"cap_add": true, "init": true, "profiles": true, "networks": true,
	"healthcheck": true,
	// expose only documents ports for other services: on the project's
	// network every port is reachable anyway.
	"expose": true,
}

var composeBuiltin = &builtin{
	Name: "compose", Returns: "list", fn: builtinCompose,
	Doc: "Imports every service of a Docker Compose file as a container resource (image or build, command, environment, ports, volumes, depends_on, `develop.watch` mapped onto sync/restart/rebuild_on); unsupported keys become warnings (docs/compose.md). Returns the list of resource names.",
	Params: []Param{
		{"path", `"docker-compose.yml"`, "the Compose file, relative to the project directory; its directory is Compose's working directory"},
		{"profiles", "[]", "Compose profiles to enable; services with other profiles are skipped"},
		{"env_file", "None", "an extra `.env`-style file for `${VAR}` interpolation (the Compose file's `.env` is read too)"},
	},
}

// compose(path="docker-compose.yml", profiles=[], env_file=None) declares
// one container resource per service of a Compose file. Returns the list
// of resource names.
func builtinCompose(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	file := s.abs(a.str("path", "docker-compose.yml"))
	profiles := a.strList("profiles")
	envFile := a.str("env_file", "")
	if a.err != nil {
		return nil, a.err
	}
	s.addFile(file)
	var envFiles []string
	if envFile != "" {
		envFile = s.abs(envFile)
		s.addFile(envFile)
		envFiles = []string{envFile}
	} else {
		// The .env file next to the Compose file, as `docker compose` reads it.
		s.addFile(filepath.Join(filepath.Dir(file), ".env"))
	}
	cp, err := compose.Load(s.ctx, []string{file}, compose.Options{
		Name: s.project.Name, Env: s.opts.Env, Profiles: profiles, EnvFiles: envFiles,
	})
	if err == nil {
		return s.importCompose(thread, a, file, cp)
	}
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	return nil, composeError(file, err)
}

// composeError points at the Compose file when compose-go names a line,
// else at the compose() call.
func composeError(file string, err error) error {
	text, _, line, col := compose.Locate(err, []string{file})
	msg := "compose: " + text
	const hint = "fix the Compose file; `docker compose config` shows how Compose reads it"
	if line > 0 {
		return &Error{File: file, Line: line, Col: col, Msg: msg, Hint: hint, cause: err}
	}
	return &builtinError{msg: msg, hint: hint, arg: "path", index: 0}
}

// runOnce is the services another waits for with condition
// service_completed_successfully: one-shots (a migration, a seed) that run
// to completion instead of being restarted when they exit.
func runOnce(cp *types.Project) map[string]bool {
	once := map[string]bool{}
	for _, svc := range cp.Services {
		for name, dep := range svc.DependsOn {
			if dep.Condition == types.ServiceConditionCompletedSuccessfully {
				once[name] = true
			}
		}
	}
	return once
}

// importCompose declares the services of cp, in name order.
func (s *evalState) importCompose(thread *starlark.Thread, a *args, file string, cp *types.Project) (starlark.Value, error) {
	pos := callerPos(thread)
	once := runOnce(cp)
	var names []starlark.Value
	for _, name := range slices.Sorted(maps.Keys(cp.Services)) {
		svc := cp.Services[name]
		warn := func(format string, xs ...any) {
			s.project.Warnings = append(s.project.Warnings,
				fmt.Sprintf("%s: compose: service %s: ", s.relPos(pos), name)+fmt.Sprintf(format, xs...))
		}
		if !namePattern.MatchString(name) {
			return nil, a.errorAt("path", "rename the service: letters, digits, '.', '_' and '-'",
				"compose: service %q: invalid resource name", name)
		}
		r, err := s.composeService(file, cp, svc, warn)
		if err != nil {
			return nil, a.errorAt("path", "", "compose: service %s: %v", name, err)
		}
		r.Container.RunOnce = once[name]
		if _, err := s.declare(thread, a, r, fromCompose); err != nil {
			return nil, err
		}
		if r.Container.Build != nil {
			if prev := s.image(r.Container.Build.Name); prev != nil {
				return nil, a.errorAt("path", "rename the image() or the service",
					"compose: service %s: image %q clashes with the image declared at %s", name, r.Container.Build.Name, s.relPos(prev.Pos))
			}
			r.Container.Build.Pos = pos
			s.project.Images = append(s.project.Images, r.Container.Build)
		}
		names = append(names, starlark.String(name))
	}
	return starlark.NewList(names), nil
}

// composeService maps one service onto a container resource.
func (s *evalState) composeService(file string, cp *types.Project, svc types.ServiceConfig, warn func(string, ...any)) (*model.Resource, error) {
	r := &model.Resource{
		Name:        svc.Name,
		Kind:        model.KindContainer,
		Dir:         s.project.Dir,
		Trigger:     model.TriggerAuto,
		AutoStart:   true,
		StopSignal:  defaultStopSignal,
		StopTimeout: defaultStopTimeout,
		Env:         map[string]string{},
	}
	for _, k := range slices.Sorted(maps.Keys(svc.Environment)) {
		if v := svc.Environment[k]; v != nil {
			if err := model.CheckEnv(k, *v); err != nil {
				return nil, fmt.Errorf("environment: %w", err)
			}
			r.Env[k] = *v
		}
	}
	r.ResourceDeps = slices.Sorted(maps.Keys(svc.DependsOn))
	if svc.StopSignal != "" {
		r.StopSignal = signame.Canonical(svc.StopSignal)
		if !signame.IsStop(r.StopSignal) {
			return nil, fmt.Errorf("unsupported stop_signal %q", svc.StopSignal)
		}
	}
	if svc.StopGracePeriod != nil {
		r.StopTimeout = time.Duration(*svc.StopGracePeriod)
	}
	c := &model.Container{
		Image:      svc.Image,
		User:       svc.User,
		Workdir:    svc.WorkingDir,
		Privileged: svc.Privileged,
		CapAdd:     slices.Clone(svc.CapAdd),
		Init:       svc.Init != nil && *svc.Init,
	}
	if svc.Command != nil {
		c.Cmd = slices.Clone([]string(svc.Command))
	}
	if svc.Entrypoint != nil {
		c.Entrypoint = slices.Clone([]string(svc.Entrypoint))
	}
	if b := svc.Build; b != nil {
		img, err := compose.Image(b)
		if err != nil {
			return nil, fmt.Errorf("%w; put the Dockerfile in a file", err)
		}
		img.Name = svc.Name + "-image"
		c.Image, c.Build = img.Name, img
	}
	if c.Image == "" {
		return nil, fmt.Errorf("neither image nor build")
	}
	for _, p := range svc.Ports {
		pm := model.PortMap{Container: int(p.Target), Host: int(p.Target), Protocol: p.Protocol}
		if pm.Protocol == "" {
			pm.Protocol = "tcp"
		}
		if p.Published != "" {
			n, err := strconv.Atoi(p.Published)
			if err != nil {
				warn("ports: published %q (a range) not supported; published on %d", p.Published, p.Target)
			} else {
				pm.Host = n
			}
		}
		if p.HostIP != "" && p.HostIP != "0.0.0.0" {
			warn("ports: host_ip %s not supported; ignored", p.HostIP)
		}
		c.Ports = append(c.Ports, pm)
	}
	for _, v := range svc.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			c.Volumes = append(c.Volumes, model.Volume{Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
		case types.VolumeTypeVolume:
			if v.Source == "" {
				warn("volumes: anonymous volume %s not supported; ignored", v.Target)
				continue
			}
			c.Volumes = append(c.Volumes, model.Volume{Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly, Named: true})
		default:
			warn("volumes: %s mount %s not supported; ignored", v.Type, v.Target)
		}
	}
	for _, net := range slices.Sorted(maps.Keys(svc.Networks)) {
		if net != "default" {
			warn("networks: network %q not supported (loop uses one network per project); ignored", net)
			continue
		}
		if cfg := svc.Networks[net]; cfg != nil {
			c.Aliases = append(c.Aliases, cfg.Aliases...)
		}
	}
	s.composeWatch(r, c, svc, warn)
	s.composeUnsupported(svc, warn)
	probe, err := composeHealthcheck(svc.HealthCheck)
	if err != nil {
		return nil, err
	}
	r.Readiness = probe
	deps := containerDeps(c, c.Build)
	r.Deps = append(deps, r.Deps...) // restart-only paths, set by composeWatch
	normalizeContainer(c)
	if len(c.CapAdd) == 0 {
		c.CapAdd = nil
	}
	r.Container = c
	return r, nil
}

// composeWatch maps develop.watch rules (see docs/compose.md):
// sync -> sync(path, target); sync+restart -> sync() and restart();
// sync+exec -> sync() and run(exec.command); rebuild -> rebuild_on;
// restart -> restart() with the path watched but not synced; ignore ->
// the resource's ignore patterns.
func (s *evalState) composeWatch(r *model.Resource, c *model.Container, svc types.ServiceConfig, warn func(string, ...any)) {
	if svc.Develop == nil {
		return
	}
	restart := false
	for _, t := range svc.Develop.Watch {
		local := t.Path
		if !filepath.IsAbs(local) {
			local = s.abs(local)
		}
		switch t.Action {
		case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
			if t.Target == "" {
				warn("develop.watch %s on %s: no target; ignored", t.Action, s.rel(local))
				continue
			}
			if real, outside := loopsync.OutsideRoot(s.project.Dir, local); outside {
				warn("develop.watch %s on %s: resolves to %s, outside the project; ignored (loop syncs only files inside the project)", t.Action, local, real)
				continue
			}
			c.Sync = append(c.Sync, model.SyncRule{Local: local, Remote: t.Target})
			if t.Action == types.WatchActionSyncRestart {
				restart = true
			}
			if t.Action == types.WatchActionSyncExec && len(t.Exec.Command) > 0 {
				c.OnChange = append(c.OnChange, model.Step{Cmd: slices.Clone([]string(t.Exec.Command)), Trigger: []string{local}})
			}
		case types.WatchActionRebuild:
			c.RebuildOn = append(c.RebuildOn, local)
		case types.WatchActionRestart:
			r.Deps = append(r.Deps, local)
			restart = true
		default:
			warn("develop.watch: action %q not supported; ignored", t.Action)
			continue
		}
		for _, pat := range t.Ignore {
			rel := s.rel(local)
			r.Ignore = append(r.Ignore, filepath.ToSlash(filepath.Join(rel, strings.TrimPrefix(pat, "/"))))
		}
		if len(t.Include) > 0 {
			warn("develop.watch include on %s not supported; the whole path is watched", s.rel(local))
		}
		// initial_sync needs nothing: loop syncs every rule (by content
		// hash) whenever the container starts, with or without it.
	}
	if restart {
		c.OnChange = append(c.OnChange, model.Step{Restart: true})
	}
}

// composeUnsupported warns about every service key compose() does not map.
func (s *evalState) composeUnsupported(svc types.ServiceConfig, warn func(string, ...any)) {
	raw, err := json.Marshal(svc)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if composeKeys[k] || strings.HasPrefix(k, "x-") {
			continue
		}
		switch v := m[k].(type) {
		case nil:
			continue
		case bool:
			if !v {
				continue
			}
		case string:
			if v == "" {
				continue
			}
		}
		warn("key %s not supported; ignored", k)
	}
}

// Timings of a readiness probe made from a Compose healthcheck. Compose's
// interval (30s by default) is for monitoring a running service; the dev
// loop wants to know soon after a start, so the probe runs every
// healthPeriod unless start_interval or a shorter interval says otherwise.
const (
	healthPeriod  = 500 * time.Millisecond
	healthTimeout = 5 * time.Second
)

// composeHealthcheck turns a service's healthcheck into a readiness probe
// run inside the container: the resource is ready (and a depends_on
// dependant starts, whatever its condition) once the test exits 0. nil
// when there is none or it is disabled.
func composeHealthcheck(hc *types.HealthCheckConfig) (*model.Probe, error) {
	if hc == nil || hc.Disable || len(hc.Test) == 0 {
		return nil, nil
	}
	p := &model.Probe{Kind: model.ProbeExec, Period: healthPeriod, Timeout: healthTimeout}
	switch hc.Test[0] {
	case "NONE":
		return nil, nil
	case "CMD":
		p.Cmd = slices.Clone(hc.Test[1:])
	case "CMD-SHELL":
		p.Cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	default:
		return nil, fmt.Errorf("healthcheck: test %q: want [\"CMD\", ...], [\"CMD-SHELL\", \"...\"], a string or [\"NONE\"]", []string(hc.Test))
	}
	if len(p.Cmd) == 0 || p.Cmd[len(p.Cmd)-1] == "" {
		return nil, fmt.Errorf("healthcheck: test %q has no command", []string(hc.Test))
	}
	switch {
	case hc.StartInterval != nil && *hc.StartInterval > 0:
		p.Period = time.Duration(*hc.StartInterval)
	case hc.Interval != nil && *hc.Interval > 0 && time.Duration(*hc.Interval) < p.Period:
		p.Period = time.Duration(*hc.Interval)
	}
	if hc.Timeout != nil && *hc.Timeout > 0 {
		p.Timeout = time.Duration(*hc.Timeout)
	}
	return p, nil
}
