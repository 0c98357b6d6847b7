package loopfile

// The settings plugin: watch_settings() tunes the project's file watcher.

import (
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var settingsPlugin = &plugin{builtins: []*builtin{watchSettingsBuiltin}}

// settingsState is the settings plugin's state: where watch_settings was
// called, if it was.
type settingsState struct {
	called bool
	pos    model.Position
}

var watchSettingsBuiltin = &builtin{
	Name: "watch_settings", Returns: "None", fn: builtinWatchSettings,
	Doc: "Tunes the file watcher for the whole project. Call it at most once.",
	Params: []Param{
		{"ignore", "[]", "gitignore-style patterns relative to the project directory"},
		{"debounce", `"15ms"`, "the quiet period that ends a batch of changes"},
		{"max_wait", `"2s"`, "how long a batch may keep growing (at least `debounce`)"},
	},
}

// watch_settings(ignore=[], debounce="15ms", max_wait="2s") sets
// Project.Watch. It may be called at most once per evaluation.
func builtinWatchSettings(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	st := pluginState[settingsState](s)
	if st.called {
		return nil, errorf("merge the two calls into one",
			"watch_settings: called twice (first at %s)", s.relPos(st.pos))
	}
	w := s.project.Watch
	w.Ignore = a.strList("ignore")
	w.Debounce = a.duration("debounce", w.Debounce)
	w.MaxWait = a.duration("max_wait", w.MaxWait)
	if a.err == nil && w.MaxWait < w.Debounce {
		a.fail("max_wait", "make max_wait at least as long as debounce",
			"%s is shorter than debounce %s", w.MaxWait, w.Debounce)
	}
	if a.err != nil {
		return nil, a.err
	}
	st.called, st.pos = true, callerPos(thread)
	s.project.Watch = w
	return starlark.None, nil
}
