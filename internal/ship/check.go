package ship

import (
	"context"
	"fmt"
	"strings"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
)

// projects is what the preconditions need from loopd.
type projects interface {
	Projects(ctx context.Context) ([]api.Project, error)
}

var _ projects = (*api.Client)(nil)

// findUp returns loopd's snapshot of the project whose Loopfile is
// loopfile (or whose name is name), or an error saying to bring it up.
func findUp(ctx context.Context, c projects, loopfile, name string) (*api.Project, error) {
	ps, err := c.Projects(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask loopd for the project: %w", err)
	}
	for i := range ps {
		if ps[i].Loopfile == loopfile {
			return &ps[i], nil
		}
	}
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i], nil
		}
	}
	return nil, fmt.Errorf("project %s is not up, so loop cannot tell whether its tests passed: run loop ci or loop up first", name)
}

// checkTests requires every test task to have passed (state ready): none
// still running, none failed.
func checkTests(p *api.Project) error {
	var failed, running []string
	for _, r := range p.TestTasks() {
		switch r.State {
		case api.StateReady:
		case api.StateFailed, api.StateCrashed:
			failed = append(failed, describe(r))
		default:
			running = append(running, r.Name+" ("+r.State+")")
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("test tasks failed: %s: fix them (loop errors, loop logs) before shipping", strings.Join(failed, "; "))
	case len(running) > 0:
		return fmt.Errorf("test tasks have not finished: %s: run loop wait, then ship", strings.Join(running, ", "))
	}
	return nil
}

// checkReady requires the shipped resource to be ready.
func checkReady(p *api.Project, resource string) error {
	for _, r := range p.Resources {
		if r.Name != resource {
			continue
		}
		if r.State == api.StateReady {
			return nil
		}
		return fmt.Errorf("%s is %s, not ready: fix it (loop status, loop logs %s) before shipping", resource, describe(r), resource)
	}
	return fmt.Errorf("%s is not running in project %s: run loop up (without a resource filter) first", resource, p.Name)
}

func describe(r api.Resource) string {
	s := r.Name + " " + r.State
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// testSummary counts the test tasks for the deploy request.
func testSummary(p *api.Project) (passed, failed int, names []string) {
	for _, r := range p.TestTasks() {
		names = append(names, r.Name)
		if r.State == api.StateReady {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed, names
}

// checkPolicy runs the policy's ship rules (policy.Ship) on the selected
// ships: warnings are printed, a deny that no policy_exception() waives
// is the error. Test tasks must have passed in loopd when the project is
// up there; when it is not, the test check below says so.
func (r *run) checkPolicy(ctx context.Context, ships []*model.Ship) error {
	if len(r.opts.Policy) == 0 {
		return nil
	}
	p := r.opts.Project
	var states map[string]string
	if r.opts.Client != nil {
		if snap, err := findUp(ctx, r.opts.Client, p.Loopfile, p.Name); err == nil {
			states = map[string]string{}
			for _, res := range snap.Resources {
				states[res.Name] = res.State
			}
		}
	}
	fs := policy.Ship(p, ships, states, r.opts.Policy)
	for _, w := range policy.Waive(p, fs) {
		fmt.Fprintf(r.out, "ship: warning: %s\n", w)
	}
	if f := policy.Blocking(fs); f != nil {
		return fmt.Errorf("refused by policy %s: %s: %s\nhint: %s", f.Rule.Name, policy.RelPos(p.Dir, f.Pos), f.Msg, f.Hint())
	}
	return nil
}
