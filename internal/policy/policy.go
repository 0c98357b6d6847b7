// Package policy holds the organisation's rules for projects
// (docs/config.md): which catalog() fields a shipped service needs
// (catalog_fields), which registries ship() may push to (ship_registries),
// which base images image() and container() may use (base_images), and
// which test tasks must exist and pass (test_tasks).
//
// A Rule comes from a config file (package config reads them) and is a
// warn or a deny. Check runs on every evaluated project (in loopd, and in
// `loop config`), Ship before `loop ship`; both return Findings. A
// finding of a deny rule blocks (the evaluation fails like a Loopfile
// error, or the ship is refused) unless the Loopfile waives the rule with
// policy_exception(rule, reason): then it is a warning, and the exception
// is reported everywhere (Exceptions).
package policy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// Level is what a rule's finding does.
type Level string

// Levels.
const (
	Warn Level = "warn" // a warning: the project runs, the ship goes on
	Deny Level = "deny" // an error, unless a policy_exception() waives it
)

// Rule names, as config files and policy_exception() spell them.
const (
	CatalogFields  = "catalog_fields"
	ShipRegistries = "ship_registries"
	BaseImages     = "base_images"
	TestTasks      = "test_tasks"
)

// Names lists the rules.
var Names = []string{CatalogFields, ShipRegistries, BaseImages, TestTasks}

// ValuesKey is the config key of a rule's list: what it requires
// ("require") or allows ("allow").
func ValuesKey(rule string) string {
	switch rule {
	case ShipRegistries, BaseImages:
		return "allow"
	}
	return "require"
}

// Rule is one configured rule.
type Rule struct {
	Name   string
	Level  Level
	Values []string // required catalog fields or test tasks; allowed registries or image patterns
	Origin string   // where it was configured: "/etc/loop/config.yaml:12"
}

// Finding is one violation of a rule.
type Finding struct {
	Rule   Rule
	Pos    model.Position         // the offending call; a Pos without Line is the Loopfile itself
	Msg    string                 // what is wrong, starting with the call: "ship(api): ..."
	Waiver *model.PolicyException // the policy_exception() that waives a deny
	// Deferred: a ship rule's finding on evaluation, which `loop ship`
	// enforces; it never blocks the evaluation.
	Deferred bool
}

// Blocks reports whether the finding stops the evaluation or the ship: a
// deny that no policy_exception() waives.
func (f Finding) Blocks() bool { return f.Rule.Level == Deny && f.Waiver == nil && !f.Deferred }

// Hint is what to do about a blocking finding.
func (f Finding) Hint() string {
	return fmt.Sprintf("the organisation's policy %s denies this (%s): fix it, or waive the rule in the Loopfile with policy_exception(%q, reason = \"why\")",
		f.Rule.Name, f.Rule.Origin, f.Rule.Name)
}

// Warning renders a finding that does not block, for the project's
// warnings; dir makes its position relative.
func (f Finding) Warning(dir string) string {
	s := fmt.Sprintf("policy %s (%s, %s): ", f.Rule.Name, f.Rule.Level, f.Rule.Origin)
	if p := RelPos(dir, f.Pos); p != "" {
		s += p + ": "
	}
	s += f.Msg
	if f.Waiver != nil {
		s += fmt.Sprintf(" (waived by policy_exception at %s: %s)", RelPos(dir, f.Waiver.Pos), f.Waiver.Reason)
	}
	return s
}

// RelPos renders p as file:line with its file relative to dir ("Loopfile:3").
func RelPos(dir string, p model.Position) string {
	if r, err := filepath.Rel(dir, p.File); err == nil && !strings.HasPrefix(r, "..") {
		p.File = filepath.ToSlash(r)
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Check runs every rule on an evaluated project. catalog_fields is a ship
// rule: for a project with ship()s its findings are warnings here (they
// say that `loop ship` will refuse), never blocking.
func Check(p *model.Project, rules []Rule) []Finding {
	var out []Finding
	for _, r := range rules {
		switch r.Name {
		case ShipRegistries:
			out = append(out, checkRegistries(p, p.Ships, r)...)
		case BaseImages:
			out = append(out, checkBaseImages(p, r)...)
		case TestTasks:
			out = append(out, checkTestTasks(p, r, nil)...)
		case CatalogFields:
			for _, f := range checkCatalog(p, p.Ships, r) {
				f.Deferred = true
				if f.Rule.Level == Deny {
					f.Msg += ": loop ship will refuse to ship it"
				}
				out = append(out, f)
			}
		}
	}
	return waive(p, out)
}

// Ship runs the rules that gate `loop ship` on the ships selected:
// catalog_fields, ship_registries, base_images (of the production
// images) and test_tasks, whose tasks must exist and, when states is not
// nil (loopd's resource states by name), have passed.
func Ship(p *model.Project, ships []*model.Ship, states map[string]string, rules []Rule) []Finding {
	var out []Finding
	for _, r := range rules {
		switch r.Name {
		case CatalogFields:
			out = append(out, checkCatalog(p, ships, r)...)
		case ShipRegistries:
			out = append(out, checkRegistries(p, ships, r)...)
		case BaseImages:
			for _, sh := range ships {
				if sh.Image != nil {
					out = append(out, checkImage(p, sh.Image, "ship("+sh.Resource+")", sh.Pos, r)...)
				}
			}
		case TestTasks:
			out = append(out, checkTestTasks(p, r, states)...)
		}
	}
	return waive(p, out)
}

// waive attaches the project's policy_exception()s to the deny findings
// of their rules (deferred ones too: the exception will waive them at
// ship).
func waive(p *model.Project, fs []Finding) []Finding {
	for i := range fs {
		if fs[i].Rule.Level != Deny {
			continue
		}
		for j := range p.PolicyExceptions {
			if p.PolicyExceptions[j].Rule == fs[i].Rule.Name {
				fs[i].Waiver = &p.PolicyExceptions[j]
			}
		}
	}
	return fs
}

// Blocking returns the first finding that blocks, or nil.
func Blocking(fs []Finding) *Finding {
	for i := range fs {
		if fs[i].Blocks() {
			return &fs[i]
		}
	}
	return nil
}

// Waive fills each policy_exception() of p with the findings it waives
// (Waives), and returns the warnings of every finding that does not block,
// relative to p's directory.
func Waive(p *model.Project, fs []Finding) (warnings []string) {
	for i := range p.PolicyExceptions {
		pe := &p.PolicyExceptions[i]
		pe.Waives = nil
		for _, f := range fs {
			if f.Waiver != nil && f.Waiver.Rule == pe.Rule {
				pe.Waives = append(pe.Waives, f.Msg)
			}
		}
	}
	for _, f := range fs {
		if !f.Blocks() {
			warnings = append(warnings, f.Warning(p.Dir))
		}
	}
	return warnings
}

func checkRegistries(p *model.Project, ships []*model.Ship, r Rule) []Finding {
	var out []Finding
	for _, sh := range ships {
		if !slices.ContainsFunc(r.Values, func(pat string) bool { return RepositoryAllowed(sh.Repository, pat) }) {
			out = append(out, Finding{Rule: r, Pos: sh.Pos,
				Msg: fmt.Sprintf("ship(%s): repository %s is not in an allowed registry (allowed: %s)", sh.Resource, sh.Repository, strings.Join(r.Values, ", "))})
		}
	}
	return out
}

func checkTestTasks(p *model.Project, r Rule, states map[string]string) []Finding {
	var out []Finding
	for _, want := range r.Values {
		var tasks []*model.Resource
		for _, res := range p.Resources {
			if res.Kind == model.KindTask && (res.Name == want || slices.Contains(res.Labels, want)) {
				tasks = append(tasks, res)
			}
		}
		if len(tasks) == 0 {
			out = append(out, Finding{Rule: r, Pos: model.Position{File: p.Loopfile},
				Msg: fmt.Sprintf("no task is named or labelled %q: declare one, e.g. task(name = %q, cmd = \"...\", labels = [%q])", want, want, want)})
			continue
		}
		if states == nil {
			continue
		}
		for _, t := range tasks {
			if st := states[t.Name]; st != "ready" {
				if st == "" {
					st = "not run"
				}
				out = append(out, Finding{Rule: r, Pos: t.Pos,
					Msg: fmt.Sprintf("test task %s has not passed (%s): run loop ci or loop up and loop wait first", t.Name, st)})
			}
		}
	}
	return out
}
