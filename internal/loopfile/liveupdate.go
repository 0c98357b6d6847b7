package loopfile

// Live-update values, part of the containers plugin: sync() and run() /
// restart() return values that container(sync=, on_change=) and
// devcontainer() read.

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
	loopsync "github.com/loopdev/loop/internal/sync"
)

// syncValue is what sync() returns: one sync rule.
type syncValue struct {
	rule  model.SyncRule
	shown string // as written, for String
}

var _ starlark.Value = (*syncValue)(nil)

func (v *syncValue) String() string        { return v.shown }
func (v *syncValue) Type() string          { return "sync" }
func (v *syncValue) Freeze()               {}
func (v *syncValue) Truth() starlark.Bool  { return true }
func (v *syncValue) Hash() (uint32, error) { return starlark.String(v.shown).Hash() }

var syncBuiltin = &builtin{
	Name: "sync", Returns: "sync", fn: builtinSync,
	Doc: "A rule for `sync=`: copy changes under `local` to `remote` in the running container. Deletes are synced too.",
	Params: []Param{
		{"local", "", "a file or directory relative to the project directory (need not exist yet)"},
		{"remote", "", "an absolute path in the container"},
	},
}

// sync(local, remote) returns a sync rule for container(sync=...): changes
// under local (relative to the project directory) are copied to remote, an
// absolute path in the container. local must really be inside the project:
// a path that leaves it, through ".." or a symlinked parent, is an error.
func builtinSync(thread *starlark.Thread, a *args) (starlark.Value, error) {
	local, remote := a.str("local", ""), a.str("remote", "")
	if a.err == nil && local == "" {
		a.fail("local", `use "." for the project directory`, "empty path")
	}
	if a.err == nil && !path.IsAbs(remote) {
		a.fail("remote", fmt.Sprintf("use an absolute path in the container, e.g. %q", path.Join("/", remote)),
			"remote path %q is not absolute", remote)
	}
	s := stateOf(thread)
	abs := s.abs(local)
	if a.err == nil {
		if real, outside := loopsync.OutsideRoot(s.project.Dir, abs); outside {
			where := "is"
			if real != abs {
				where = "resolves to " + real + ","
			}
			a.fail("local", "sync only files inside the project; mount other directories with container(volumes=)",
				"%q %s outside the project %s", local, where, s.project.Dir)
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	return &syncValue{
		rule:  model.SyncRule{Local: abs, Remote: path.Clean(remote)},
		shown: fmt.Sprintf("sync(%q, %q)", local, remote),
	}, nil
}

// syncs reads a list of sync() values.
func (a *args) syncs(name string) []model.SyncRule {
	seq := a.list(name, "list of sync() values")
	if seq == nil {
		return nil
	}
	var out []model.SyncRule
	for i := range seq.Len() {
		v, ok := seq.Index(i).(*syncValue)
		if !ok {
			a.fail(name, `use sync("src", "/app/src")`, "element %d: got %s, want sync()", i, seq.Index(i).Type())
			return nil
		}
		out = append(out, v.rule)
	}
	return out
}

// stepValue is what run() and restart() return: one live-update step.
type stepValue struct{ step model.Step }

var _ starlark.Value = (*stepValue)(nil)

func (v *stepValue) String() string {
	if v.step.Restart {
		return "restart()"
	}
	return fmt.Sprintf("run(%q)", strings.Join(v.step.Cmd, " "))
}
func (v *stepValue) Type() string         { return "step" }
func (v *stepValue) Freeze()              {}
func (v *stepValue) Truth() starlark.Bool { return true }
func (v *stepValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: step")
}

var runBuiltin = &builtin{
	Name: "run", Returns: "step", fn: builtinRun,
	Doc: "A step for `on_change=`: run `cmd` in the container after a sync. A failing step stops the update.",
	Params: []Param{
		{"cmd", "", "a string (`/bin/sh -c`, the image needs a shell) or an argv list"},
		{"trigger", "[]", "only run when one of these paths (relative to the project directory) changed; `[]`: after every sync"},
	},
}

// run(cmd, trigger=[]) returns a step that runs cmd in the container after
// a sync: on every change, or only when one of trigger (paths relative to
// the project directory) changed.
func builtinRun(thread *starlark.Thread, a *args) (starlark.Value, error) {
	st := model.Step{Cmd: a.containerCmd("cmd"), Trigger: a.paths(stateOf(thread), "trigger")}
	if a.err != nil {
		return nil, a.err
	}
	if len(st.Trigger) == 0 {
		st.Trigger = nil
	}
	return &stepValue{step: st}, nil
}

var restartBuiltin = &builtin{
	Name: "restart", Returns: "step", fn: builtinRestart,
	Doc: "A step for `on_change=`: restart the container's service in place. Takes no arguments; at most once, as the last step.",
}

// restart() returns a step that restarts the container's service in place.
func builtinRestart(*starlark.Thread, *args) (starlark.Value, error) {
	return &stepValue{step: model.Step{Restart: true}}, nil
}

// steps reads a list of run() and restart() values. restart() may appear
// once, as the last step.
func (a *args) steps(name string) []model.Step {
	seq := a.list(name, "list of run() and restart() values")
	if seq == nil {
		return nil
	}
	var out []model.Step
	restartAt := -1
	for i := range seq.Len() {
		v, ok := seq.Index(i).(*stepValue)
		if !ok {
			a.fail(name, `use run("...") and restart()`, "element %d: got %s, want run() or restart()", i, seq.Index(i).Type())
			return nil
		}
		if restartAt >= 0 {
			what := "run()"
			if v.step.Restart {
				what = "a second restart()"
			}
			a.fail(name, "give restart() once, as the last step: the steps run in order, then the service restarts",
				"element %d: %s after restart() (element %d)", i, what, restartAt)
			return nil
		}
		if v.step.Restart {
			restartAt = i
		}
		st := v.step
		st.Cmd = slices.Clone(st.Cmd)
		st.Trigger = slices.Clone(st.Trigger)
		out = append(out, st)
	}
	return out
}
