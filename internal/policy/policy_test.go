package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// project is a project that breaks every rule below: a ship() to
// docker.io, an image() FROM node, a container of postgres, no catalog
// owner, no test task.
func project(t *testing.T) *model.Project {
	t.Helper()
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("ARG V=20\nFROM node:${V} AS build\nFROM build\nFROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lf := filepath.Join(dir, "Loopfile")
	at := func(line int) model.Position { return model.Position{File: lf, Line: line, Col: 1} }
	img := &model.Image{Name: "web", Dockerfile: df, Context: dir, Pos: at(1)}
	return &model.Project{
		Dir: dir, Loopfile: lf,
		Images: []*model.Image{img},
		Resources: []*model.Resource{
			{Name: "web", Kind: model.KindContainer, Container: &model.Container{Image: "web", Build: img}, Pos: at(2)},
			{Name: "db", Kind: model.KindContainer, Container: &model.Container{Image: "postgres:16"}, Pos: at(3)},
			{Name: "lint", Kind: model.KindTask, Labels: []string{"check"}, Pos: at(4)},
		},
		Ships:   []*model.Ship{{Resource: "web", Repository: "docker.io/acme/web", Image: img, Pos: at(5)}},
		Catalog: []*model.CatalogEntry{{Team: "core", Pos: at(6)}},
	}
}

func TestCheck_everyRuleWarnsAndDenies(t *testing.T) {
	tests := []struct {
		rule    string
		values  []string
		line    int      // of the finding
		msgs    []string // one per finding, a part of each
		passing []string // values with which the project passes
	}{
		{ShipRegistries, []string{"registry.corp"}, 5, []string{"ship(web): repository docker.io/acme/web is not in an allowed registry"}, []string{"registry.corp", "docker.io/acme"}},
		{BaseImages, []string{"golang:*"}, 1, []string{"image(web): Dockerfile:2: FROM node:20 is not an allowed base image", "db: image postgres:16"}, []string{"golang:*", "node:*", "postgres"}},
		{TestTasks, []string{"test"}, 0, []string{`no task is named or labelled "test"`}, []string{"check"}},
		{CatalogFields, []string{"owner", "team"}, 6, []string{"ship(web): catalog() lacks owner"}, []string{"team"}},
	}
	for _, tt := range tests {
		for _, level := range []Level{Warn, Deny} {
			t.Run(tt.rule+"/"+string(level), func(t *testing.T) {
				p := project(t)
				rules := []Rule{{Name: tt.rule, Level: level, Values: tt.values, Origin: "/etc/loop/config.yaml:3"}}
				fs := Check(p, rules)
				if len(fs) != len(tt.msgs) {
					t.Fatalf("got %d findings %+v, want %d", len(fs), fs, len(tt.msgs))
				}
				for i, f := range fs {
					if !strings.Contains(f.Msg, tt.msgs[i]) {
						t.Errorf("finding %d: %q does not contain %q", i, f.Msg, tt.msgs[i])
					}
				}
				if fs[0].Pos.Line != tt.line {
					t.Errorf("finding at line %d, want %d", fs[0].Pos.Line, tt.line)
				}
				// catalog_fields gates loop ship, not the evaluation.
				wantBlock := level == Deny && tt.rule != CatalogFields
				if got := Blocking(fs) != nil; got != wantBlock {
					t.Errorf("Blocking = %v, want %v", got, wantBlock)
				}
				if b := Blocking(fs); b != nil && !strings.Contains(b.Hint(), `policy_exception("`+tt.rule+`"`) {
					t.Errorf("hint %q names no policy_exception", b.Hint())
				}
				warnings := Waive(p, fs)
				if !wantBlock && (len(warnings) != len(fs) || !strings.HasPrefix(warnings[0], "policy "+tt.rule)) {
					t.Errorf("warnings = %q", warnings)
				}

				// A policy_exception() waives a deny: a warning that says so.
				p.PolicyExceptions = []model.PolicyException{{Rule: tt.rule, Reason: "legacy", Pos: model.Position{File: p.Loopfile, Line: 9}}}
				fs = Check(p, rules)
				if b := Blocking(fs); b != nil {
					t.Errorf("waived, still blocking: %+v", b)
				}
				warnings = Waive(p, fs)
				if level == Deny {
					if !strings.Contains(warnings[0], "waived by policy_exception at Loopfile:9: legacy") {
						t.Errorf("warning %q does not name the exception", warnings[0])
					}
					if len(p.PolicyExceptions[0].Waives) != len(tt.msgs) {
						t.Errorf("Waives = %q", p.PolicyExceptions[0].Waives)
					}
				} else if len(p.PolicyExceptions[0].Waives) != 0 {
					t.Errorf("a warn is waived: %q", p.PolicyExceptions[0].Waives)
				}

				rules[0].Values = tt.passing
				if fs := Check(project(t), rules); len(fs) != 0 {
					t.Errorf("with %q allowed/required: %+v", tt.passing, fs)
				}
			})
		}
	}
}

func TestShip_gates(t *testing.T) {
	p := project(t)
	p.Resources = append(p.Resources, &model.Resource{Name: "unit", Kind: model.KindTask, Labels: []string{"test"}})
	rules := []Rule{
		{Name: CatalogFields, Level: Deny, Values: []string{"owner"}},
		{Name: TestTasks, Level: Deny, Values: []string{"test"}},
		{Name: ShipRegistries, Level: Warn, Values: []string{"registry.corp"}},
	}
	fs := Ship(p, p.Ships, map[string]string{"unit": "failed"}, rules)
	var got []string
	for _, f := range fs {
		got = append(got, string(f.Rule.Level)+" "+f.Msg)
	}
	want := []string{
		"deny ship(web): catalog() lacks owner: set it in catalog() of the project or of web",
		"deny test task unit has not passed (failed): run loop ci or loop up and loop wait first",
		"warn ship(web): repository docker.io/acme/web is not in an allowed registry (allowed: registry.corp)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b := Blocking(fs); b == nil || b.Rule.Name != CatalogFields {
		t.Errorf("Blocking = %+v, want catalog_fields", b)
	}
	p.Catalog = append(p.Catalog, &model.CatalogEntry{Resource: "web", Owner: "ana@example.com"})
	if fs := Ship(p, p.Ships, map[string]string{"unit": "ready"}, rules[:2]); len(fs) != 0 {
		t.Errorf("owner set on the resource, tests passed: %+v", fs)
	}
}

func TestFromLines(t *testing.T) {
	df := `# syntax=docker/dockerfile:1
ARG GO=1.22
ARG BASE
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
FROM build AS test
from gcr.io/distroless/static
FROM scratch
FROM $BASE
`
	got := FromLines(df, map[string]string{"GO": "1.23"})
	want := []From{{"golang:1.23", 4}, {"gcr.io/distroless/static", 6}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		ref, pattern string
		want         bool
	}{
		{"golang:1.22", "golang:*", true},
		{"docker.io/library/golang:1.22", "golang:*", true},
		{"golang:1.22", "docker.io/library/golang:*", true},
		{"golang", "golang", true},
		{"golang:1.22@sha256:" + strings.Repeat("a", 64), "golang", true},
		{"golangci/golangci-lint:v1", "golang", false},
		{"registry.corp/team/api:1", "registry.corp/*", true},
		{"registry.corp.evil.com/x:1", "registry.corp/*", false},
		{"node:20", "golang:*", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.ref, tt.pattern); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.ref, tt.pattern, got, tt.want)
		}
	}
	for _, tt := range []struct {
		repo, allowed string
		want          bool
	}{
		{"registry.corp/team/api", "registry.corp", true},
		{"registry.corp.evil.com/api", "registry.corp", false},
		{"ghcr.io/acme/api", "ghcr.io/acme", true},
		{"ghcr.io/acmex/api", "ghcr.io/acme", false},
		{"acme/api", "docker.io", true},
		{"eu.registry.corp/api", "*.registry.corp", true},
	} {
		if got := RepositoryAllowed(tt.repo, tt.allowed); got != tt.want {
			t.Errorf("RepositoryAllowed(%q, %q) = %v, want %v", tt.repo, tt.allowed, got, tt.want)
		}
	}
}
