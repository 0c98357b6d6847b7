package daemon

// Selections of a project's resources by name and by label: the one home
// of what `loop up|down|status|enable|disable|trigger -l LABEL`, the
// MCP tools and the portal pick, and of the actions applied to them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/model"
)

// errUnknownLabel is a selector's label that no resource of the project has.
var errUnknownLabel = errors.New("unknown label")

// errUnknownAction is an action loopd does not have.
var errUnknownAction = errors.New("unknown action")

// selection resolves sel against the configuration m of project: the
// resources it names and those with any of its labels, in Loopfile order,
// each once. An empty selector selects nothing (nil). A name m lacks is
// engine.ErrUnknownResource, a label no resource has errUnknownLabel; both
// list what the project has.
func selection(m *model.Project, project string, sel api.Selector) ([]string, error) {
	for _, n := range sel.Resources {
		if m.Resource(n) == nil {
			return nil, fmt.Errorf("%w %q in project %s (its resources: %s)", engine.ErrUnknownResource, n, project, resourceNames(m))
		}
	}
	for _, l := range sel.Labels {
		if l == "" {
			return nil, fmt.Errorf("%w: an empty label (-l \"\"): name a label, e.g. -l backend", errBadSelector)
		}
		if !slices.ContainsFunc(m.Resources, func(r *model.Resource) bool { return slices.Contains(r.Labels, l) }) {
			return nil, fmt.Errorf("%w %q: no resource of project %s has it (%s)", errUnknownLabel, l, project, labelsOf(m))
		}
	}
	var names []string
	for _, r := range m.Resources {
		if slices.Contains(sel.Resources, r.Name) || slices.ContainsFunc(r.Labels, func(l string) bool { return slices.Contains(sel.Labels, l) }) {
			names = append(names, r.Name)
		}
	}
	return names, nil
}

func resourceNames(m *model.Project) string {
	names := make([]string, len(m.Resources))
	for i, r := range m.Resources {
		names[i] = r.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// labelsOf says which labels the project has, for an error.
func labelsOf(m *model.Project) string {
	var ls []string
	for _, r := range m.Resources {
		for _, l := range r.Labels {
			if !slices.Contains(ls, l) {
				ls = append(ls, l)
			}
		}
	}
	if len(ls) == 0 {
		return "none of its resources has a label: give them labels=[...] in the Loopfile"
	}
	slices.Sort(ls)
	return "its labels: " + strings.Join(ls, ", ") + "; `loop status` shows each resource's"
}

// selectorOf reads ?resource=NAME&label=LABEL (each repeatable).
func selectorOf(r *http.Request) api.Selector {
	q := r.URL.Query()
	return api.Selector{Resources: q["resource"], Labels: q["label"]}
}

// selectionCode is the HTTP status of a selection's error.
func selectionCode(err error) int {
	switch {
	case errors.Is(err, engine.ErrUnknownResource), errors.Is(err, errUnknownLabel), errors.Is(err, errUnknownAction):
		return http.StatusNotFound
	case errors.Is(err, errBadSelector):
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

// errBadSelector is a selector that cannot select anything.
var errBadSelector = errors.New("bad selector")

// actions are what act does.
var actions = []string{api.ActionTrigger, api.ActionRestart, api.ActionEnable, api.ActionDisable, api.ActionStop}

const actionsHint = "use trigger, restart, enable, disable or stop"

// act runs one action on one resource of p.
func (p *project) act(ctx context.Context, action, name string) error {
	switch action {
	case api.ActionTrigger:
		return p.engine.Trigger(ctx, name)
	case api.ActionRestart:
		return p.engine.Restart(ctx, name)
	case api.ActionEnable:
		return p.engine.Enable(ctx, name)
	case api.ActionDisable:
		return p.engine.Disable(ctx, name)
	case api.ActionStop:
		return p.engine.Stop(ctx, name)
	}
	return fmt.Errorf("%w %q (%s)", errUnknownAction, action, actionsHint)
}

// handleActions runs an action on every resource a selector (the JSON
// body) picks: each is tried, and the reply names those that refused.
func (d *Daemon) handleActions(w http.ResponseWriter, r *http.Request, p *project) {
	action := r.PathValue("action")
	if !slices.Contains(actions, action) {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w %q", errUnknownAction, action), actionsHint)
		return
	}
	var sel api.Selector
	if err := json.NewDecoder(r.Body).Decode(&sel); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode selector: %w", err), `send {"resources": [...], "labels": [...]}`)
		return
	}
	if sel.Empty() {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s: %w: name resources or labels", action, errBadSelector), `send {"resources": [...], "labels": [...]}`)
		return
	}
	names, err := selection(p.current(), p.name, sel)
	if err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	var errs []error
	for _, n := range names {
		if err := p.act(r.Context(), action, n); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", action, n, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	writeJSON(w, http.StatusOK, api.ActionReply{Resources: names, Project: p.snapshot()})
}

// selected is p's snapshot with only the resources sel picks (all of them
// when sel is empty).
func (p *project) selected(sel api.Selector) (*api.Project, error) {
	snap := p.snapshot()
	if sel.Empty() {
		return snap, nil
	}
	names, err := selection(p.current(), p.name, sel)
	if err != nil {
		return nil, err
	}
	kept := make([]api.Resource, 0, len(names))
	for _, r := range snap.Resources {
		if slices.Contains(names, r.Name) {
			kept = append(kept, r)
		}
	}
	snap.Resources = kept
	return snap, nil
}
