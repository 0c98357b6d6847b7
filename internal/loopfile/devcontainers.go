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

	"github.com/loopdev/loop/internal/devcontainer"
	"github.com/loopdev/loop/internal/model"
	"go.starlark.net/starlark"
)

var devcontainerParams = []string{
	"name", "path?", "sync?", "on_change?", "readiness?", "resource_deps?",
	"links?", "labels?", "trigger?", "auto_start?", "deps?", "ignore?",
	"stop_signal?", "stop_timeout?",
}

// loadDevcontainer reads a devcontainer.json; tests replace it.
var loadDevcontainer = devcontainer.Load

// devcontainer(name, path="", ...) declares the container a devcontainer.json
// describes, plus the user's live-update rules. Returns name.
func builtinDevcontainer(thread *starlark.Thread, b *starlark.Builtin, posArgs starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpack(b.Name(), posArgs, kwargs, devcontainerParams...)
	if err != nil {
		return nil, err
	}
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
		StateDir:   devcontainerStateDir(s.opts.StateDir, r.Name),
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
	r.Env = maps.Clone(res.Env)
	if !a.has("links") {
		for _, p := range res.Ports {
			r.Links = append(r.Links, model.Link{URL: "http://127.0.0.1:" + strconv.Itoa(p)})
		}
	}
	r.Deps = deps
	if !a.has("deps") {
		r.Deps = containerDeps(&c, nil)
	}
	if _, err := s.declare(thread, a, r); err != nil {
		return nil, err
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
	if !errors.As(err, &de) || de.File == "" {
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

// devcontainerStateDir is where a devcontainer's generated Features build
// lives: stable per project and resource, so re-evaluation neither leaks
// directories nor changes the image's context.
func devcontainerStateDir(root, name string) string {
	if root == "" {
		return ""
	}
	return filepath.Join(root, "devcontainer", name)
}
