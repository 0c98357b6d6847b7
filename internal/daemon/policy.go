package daemon

// loop's configuration applied to a project's evaluation (docs/config.md):
// the config files read at every evaluation (with loopd's environment),
// the project's watch settings layered over them, and the organisation's
// policy checked. A config file that cannot be read, or a deny that no
// policy_exception() waives, fails the evaluation like a Loopfile error:
// the last good configuration keeps running. Policy exceptions are logged
// and published as project events (so the recorder stores them).

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
)

// loadConfig reads loop's configuration as loopd sees it.
func loadConfig() (*config.Config, error) { return config.Load(os.Getenv) }

// configure completes an evaluated model with the configuration: its
// effective watch settings, the policy's warnings and what each
// policy_exception() waives.
func (p *project) configure(m *model.Project) error {
	cfg, err := loadConfig()
	if err != nil {
		le := &loopfile.Error{File: p.loopfile, Msg: err.Error(), Files: m.Files, Secrets: m.Secrets,
			Hint: "fix the config file: loop config shows every value and where it comes from"}
		var cerr *config.Error
		if errors.As(err, &cerr) {
			le.File, le.Line, le.Msg = cerr.File, cerr.Line, "config: "+cerr.Msg
			if cerr.Hint != "" {
				le.Hint = cerr.Hint
			}
		}
		return le
	}
	m.Watch = cfg.ForProject(m).WatchSettings()
	findings := policy.Check(m, cfg.Policy)
	if f := policy.Blocking(findings); f != nil {
		return &loopfile.Error{File: f.Pos.File, Line: f.Pos.Line, Col: f.Pos.Col, Msg: "policy " + f.Rule.Name + ": " + f.Msg,
			Hint: f.Hint(), Files: m.Files, Secrets: m.Secrets}
	}
	m.Warnings = append(m.Warnings, policy.Waive(m, findings)...)
	for _, pe := range m.PolicyExceptions {
		if len(pe.Waives) == 0 {
			m.Warnings = append(m.Warnings, fmt.Sprintf("policy_exception(%q) at %s waives nothing now: remove it when the rule no longer needs waiving",
				pe.Rule, policy.RelPos(m.Dir, pe.Pos)))
		}
	}
	return nil
}

// accept makes m the project's configuration and reports the policy
// exceptions it adds, changes or drops (loopd.log, project events).
func (p *project) accept(m *model.Project) {
	p.mu.Lock()
	prev := p.cur
	p.cur = m
	p.mu.Unlock()
	var before []model.PolicyException
	if prev != nil {
		before = prev.PolicyExceptions
	}
	for _, pe := range m.PolicyExceptions {
		if slices.ContainsFunc(before, func(b model.PolicyException) bool { return sameException(b, pe) }) {
			continue
		}
		p.log.Warn("policy exception", "rule", pe.Rule, "reason", pe.Reason, "at", pe.Pos.String(), "waives", pe.Waives)
		msg := fmt.Sprintf("policy exception: %s waived at %s: %s", pe.Rule, policy.RelPos(m.Dir, pe.Pos), pe.Reason)
		if len(pe.Waives) > 0 {
			msg += fmt.Sprintf(" (waives %d deny findings)", len(pe.Waives))
		}
		p.publishEvent(msg)
	}
	for _, b := range before {
		if !slices.ContainsFunc(m.PolicyExceptions, func(pe model.PolicyException) bool { return pe.Rule == b.Rule }) {
			p.log.Info("policy exception removed", "rule", b.Rule)
			p.publishEvent("policy exception removed: " + b.Rule)
		}
	}
}

func (p *project) publishEvent(msg string) {
	if p.publish != nil {
		p.publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: p.name, Message: msg})
	}
}

// sameException: the same rule, reason and findings (a moved line is the
// same exception).
func sameException(a, b model.PolicyException) bool {
	return a.Rule == b.Rule && a.Reason == b.Reason && slices.Equal(a.Waives, b.Waives)
}

// exceptions are a model's policy exceptions in their wire form.
func exceptions(project string, m *model.Project) []api.PolicyException {
	if m == nil {
		return nil
	}
	var out []api.PolicyException
	for _, pe := range m.PolicyExceptions {
		out = append(out, api.PolicyException{Project: project, Rule: pe.Rule, Reason: pe.Reason,
			Declared: pe.Pos.String(), Waives: pe.Waives})
	}
	return out
}

// sloTargets are the SLO targets of the config files and loopd's
// environment, and for one project that is up its slo_targets() too. A
// config file that cannot be read gives the defaults (its error shows in
// every project's evaluation and in loop config).
func (d *Daemon) sloTargets(project string) metrics.Targets {
	cfg, err := loadConfig()
	if err != nil {
		return config.Default().SLO.Targets()
	}
	if p, ok := d.project(project); ok && project != "" {
		if m := p.current(); m != nil {
			cfg = cfg.ForProject(m)
		}
	}
	return cfg.SLO.Targets()
}

// policyExceptions are the policy exceptions of the projects up (of one
// when project is set), by project name.
func (d *Daemon) policyExceptions(only string) []api.PolicyException {
	var out []api.PolicyException
	for _, p := range d.upProjects() {
		if only != "" && p.name != only {
			continue
		}
		out = append(out, exceptions(p.name, p.current())...)
	}
	slices.SortFunc(out, func(a, b api.PolicyException) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Rule, b.Rule))
	})
	return out
}

// exceptionCounts is the number of policy exceptions in force by project,
// for the exported gauge loop.policy.exceptions (every project that is up,
// zero included, so a removed exception shows as 0).
func (d *Daemon) exceptionCounts() map[string]int64 {
	ps := d.upProjects()
	n := make(map[string]int64, len(ps))
	for _, p := range ps {
		if m := p.current(); m != nil {
			n[p.name] = int64(len(m.PolicyExceptions))
		} else {
			n[p.name] = 0
		}
	}
	return n
}
