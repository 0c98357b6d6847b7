package loopfile

// The settings plugin: watch_settings() tunes the project's file watcher,
// slo_targets() the project's SLO targets, and policy_exception() waives
// one of the organisation's policy rules. What they set is recorded in
// Project.Overrides (only the arguments passed, with where), which loopd
// layers over the config files (package config, docs/config.md).

import (
	"math"
	"slices"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
)

var settingsPlugin = &plugin{builtins: []*builtin{watchSettingsBuiltin, sloTargetsBuiltin, policyExceptionBuiltin}}

// settingsState is the settings plugin's state: where watch_settings and
// slo_targets were called, if they were, and each policy_exception() by
// rule.
type settingsState struct {
	watch, slo *model.Position
	exceptions map[string]model.Position
}

var watchSettingsBuiltin = &builtin{
	Name: "watch_settings", Returns: "None", fn: builtinWatchSettings,
	Doc: "Tunes the file watcher for the whole project. Call it at most once. What it passes wins over loop's config files (docs/config.md).",
	Params: []Param{
		{"ignore", "[]", "gitignore-style patterns relative to the project directory, added after the config files' `watch.ignore`"},
		{"debounce", `"15ms"`, "the quiet period that ends a batch of changes"},
		{"max_wait", `"2s"`, "how long a batch may keep growing (at least `debounce`)"},
	},
}

// watch_settings(ignore=[], debounce="15ms", max_wait="2s") sets
// Project.Watch and records the arguments passed in Project.Overrides. It
// may be called at most once per evaluation.
func builtinWatchSettings(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	st := pluginState[settingsState](s)
	if st.watch != nil {
		return nil, errorf("merge the two calls into one",
			"watch_settings: called twice (first at %s)", s.relPos(*st.watch))
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
	pos := callerPos(thread)
	st.watch = &pos
	s.project.Watch = w
	o := &s.project.Overrides
	if a.has("ignore") {
		o.Ignore = &model.Override[[]string]{Value: w.Ignore, Pos: pos}
	}
	if a.has("debounce") {
		o.Debounce = &model.Override[time.Duration]{Value: w.Debounce, Pos: pos}
	}
	if a.has("max_wait") {
		o.MaxWait = &model.Override[time.Duration]{Value: w.MaxWait, Pos: pos}
	}
	return starlark.None, nil
}

var sloTargetsBuiltin = &builtin{
	Name: "slo_targets", Returns: "None", fn: builtinSLOTargets,
	Doc: "The project's SLO targets (docs/metrics.md): they win over loop's config files, and `LOOP_SLO_*` environment variables win over them (docs/config.md). Call it at most once.",
	Params: []Param{
		{"save_to_live_p95", "None", "the p95 of file save to the resource ready again: a duration (`\"250ms\"`)"},
		{"build_success", "None", "the share of runs that succeed: a ratio in (0, 1] (`0.98`)"},
	},
}

// slo_targets(save_to_live_p95=None, build_success=None) records the
// targets passed in Project.Overrides.
func builtinSLOTargets(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	st := pluginState[settingsState](s)
	if st.slo != nil {
		return nil, errorf("merge the two calls into one",
			"slo_targets: called twice (first at %s)", s.relPos(*st.slo))
	}
	p95 := a.duration("save_to_live_p95", 0)
	if a.err == nil && a.has("save_to_live_p95") && p95 == 0 {
		a.fail("save_to_live_p95", `use a positive duration such as "300ms"`, "a zero target")
	}
	ratio := a.ratio("build_success")
	if a.err != nil {
		return nil, a.err
	}
	pos := callerPos(thread)
	st.slo = &pos
	o := &s.project.Overrides
	if a.has("save_to_live_p95") {
		o.SaveToLiveP95 = &model.Override[time.Duration]{Value: p95, Pos: pos}
	}
	if a.has("build_success") {
		o.BuildSuccess = &model.Override[float64]{Value: ratio, Pos: pos}
	}
	return starlark.None, nil
}

// ratio reads a number in (0, 1].
func (a *args) ratio(name string) float64 {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return 0
	}
	f, isNum := starlark.AsFloat(v)
	if !isNum {
		a.wrongType(name, v, "number in (0, 1]")
		return 0
	}
	if math.IsNaN(f) || f <= 0 || f > 1 {
		a.fail(name, "use a ratio such as 0.95 (95%)", "%v is not in (0, 1]", f)
		return 0
	}
	return f
}

var policyExceptionBuiltin = &builtin{
	Name: "policy_exception", Returns: "None", fn: builtinPolicyException,
	Doc: "Waives one of the organisation's policy rules (`" + strings.Join(policy.Names, "`, `") + "`) for this project: its deny findings become warnings. Exceptions are logged, recorded and shown by `loop status`, the portal and the metrics (docs/config.md).",
	Params: []Param{
		{"rule", "", "the rule waived: " + strings.Join(policy.Names, ", ")},
		{"reason", "", "why: required and not empty, shown wherever the exception is"},
	},
}

// policy_exception(rule, reason) appends to Project.PolicyExceptions; one
// per rule.
func builtinPolicyException(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	st := pluginState[settingsState](s)
	rule := a.str("rule", "")
	reason := strings.TrimSpace(a.str("reason", ""))
	if a.err != nil {
		return nil, a.err
	}
	if !slices.Contains(policy.Names, rule) {
		hint := "the rules: " + strings.Join(policy.Names, ", ")
		if n := nearest(rule, policy.Names); n != "" {
			hint = "did you mean " + n + "? " + hint
		}
		return nil, a.errorAt("rule", hint, "policy_exception: unknown rule %q", rule)
	}
	if reason == "" {
		return nil, a.errorAt("reason", `say why, e.g. reason = "legacy base image until Q3 (TICKET-123)"`,
			"policy_exception: the reason is required")
	}
	if prev, ok := st.exceptions[rule]; ok {
		return nil, errorf("keep one policy_exception() per rule",
			"policy_exception: rule %s waived twice (first at %s)", rule, s.relPos(prev))
	}
	pos := callerPos(thread)
	if st.exceptions == nil {
		st.exceptions = map[string]model.Position{}
	}
	st.exceptions[rule] = pos
	s.project.PolicyExceptions = append(s.project.PolicyExceptions, model.PolicyException{Rule: rule, Reason: reason, Pos: pos})
	return starlark.None, nil
}
