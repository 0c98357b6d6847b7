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
//
// It takes one pass over the project, whatever the size of the selector.
func selection(m *model.Project, project string, sel api.Selector) ([]string, error) {
	if sel.Empty() {
		return nil, nil
	}
	for _, l := range sel.Labels {
		if l == "" {
			return nil, fmt.Errorf("%w: an empty label (-l \"\"): name a label, e.g. -l backend", errBadSelector)
		}
	}
	named := set(sel.Resources)
	labels := set(sel.Labels)
	seenName, seenLabel := map[string]bool{}, map[string]bool{} // of sel, those the project has
	var names []string
	for _, r := range m.Resources {
		picked := named[r.Name]
		if picked {
			seenName[r.Name] = true
		}
		for _, l := range r.Labels {
			if labels[l] {
				picked, seenLabel[l] = true, true
			}
		}
		if picked {
			names = append(names, r.Name)
		}
	}
	for _, n := range sel.Resources {
		if !seenName[n] {
			return nil, fmt.Errorf("%w %q in project %s (its resources: %s)", engine.ErrUnknownResource, n, project, resourceNames(m))
		}
	}
	for _, l := range sel.Labels {
		if !seenLabel[l] {
			return nil, fmt.Errorf("%w %q: no resource of project %s has it (%s)", errUnknownLabel, l, project, labelsOf(m))
		}
	}
	return names, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
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
	// The snapshot after, with the resources acted on only.
	snap, err := p.selected(api.Selector{Resources: names})
	if err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	writeJSON(w, http.StatusOK, api.ActionReply{Resources: names, Project: snap})
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
	picked := set(names)
	kept := make([]api.Resource, 0, len(names))
	for _, r := range snap.Resources {
		if picked[r.Name] {
			kept = append(kept, r)
		}
	}
	snap.Resources = kept
	return snap, nil
}
