package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
	"github.com/loopdev/loop/internal/telemetry"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPaths(t *testing.T) {
	tests := []struct {
		env       map[string]string
		org, user string
	}{
		{map[string]string{"HOME": "/home/u"}, "/etc/loop/config.yaml", "/home/u/.config/loop/config.yaml"},
		{map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/x"}, "/etc/loop/config.yaml", "/x/loop/config.yaml"},
		{map[string]string{"LOOP_ORG_CONFIG": "/o.yaml", "LOOP_CONFIG": "/u.yaml", "HOME": "/h"}, "/o.yaml", "/u.yaml"},
		{map[string]string{}, "/etc/loop/config.yaml", ""},
	}
	for _, tt := range tests {
		org, user := Paths(envOf(tt.env))
		if org != tt.org || user != tt.user {
			t.Errorf("Paths(%v) = %q, %q; want %q, %q", tt.env, org, user, tt.org, tt.user)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// files writes an organisation's and a user's file and returns the
// environment that points at them.
func files(t *testing.T, org, user string) (env map[string]string, orgPath, userPath string) {
	dir := t.TempDir()
	orgPath = filepath.Join(dir, "etc", "config.yaml")
	userPath = filepath.Join(dir, "home", ".config", "loop", "config.yaml")
	if org != "" {
		write(t, orgPath, org)
	}
	if user != "" {
		write(t, userPath, user)
	}
	return map[string]string{"LOOP_ORG_CONFIG": orgPath, "HOME": filepath.Join(dir, "home")}, orgPath, userPath
}

func TestLoad_MergesOrganisationThenUser(t *testing.T) {
	env, org, user := files(t,
		"templates:\n  - https://git.example.com/platform/templates.git\n  - /srv/templates\n",
		"# mine\ntemplates:\n  - ../../mine\n  - git@example.com:me/t.git\n")
	env["LOOP_TEMPLATES"] = "/env/t, "
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://git.example.com/platform/templates.git",
		"/srv/templates",
		filepath.Join(filepath.Dir(user), "..", "..", "mine"),
		"git@example.com:me/t.git",
		"/env/t",
	}
	want[2] = filepath.Clean(want[2])
	if got := c.TemplateSources(); !slices.Equal(got, want) {
		t.Errorf("Templates = %q, want %q", got, want)
	}
	if got, want := c.Templates[2].Origin.String(), user+":3"; got != want {
		t.Errorf("Templates[2] origin = %s, want %s", got, want)
	}
	if got := c.Templates[4].Origin.String(); got != "env LOOP_TEMPLATES" {
		t.Errorf("Templates[4] origin = %s, want env LOOP_TEMPLATES", got)
	}
	if !slices.Equal(c.Files, []string{org, user}) {
		t.Errorf("Files = %q", c.Files)
	}
}

func TestLoad_MissingFilesAreDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(envOf(map[string]string{"LOOP_ORG_CONFIG": filepath.Join(dir, "none.yaml"), "HOME": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Templates) != 0 || len(c.Files) != 0 || len(c.Policy) != 0 {
		t.Errorf("got %+v, want nothing", c)
	}
	if c.Watch.Debounce.V != model.DefaultDebounce || c.SLO.BuildSuccess.V != 0.95 || c.Feedback.Every.V != DefaultFeedbackEvery {
		t.Errorf("got %+v, want the defaults", c)
	}
	if got := c.SLO.Availability.Origin.String(); got != "default" {
		t.Errorf("origin = %q, want default", got)
	}
}

// TestLoad_Precedence: default < organisation < user < Loopfile < env,
// each value with its origin.
func TestLoad_Precedence(t *testing.T) {
	env, org, user := files(t, `
watch:
  debounce: 20ms
  max_wait: 3s
  ignore: [node_modules/]
slo:
  save_to_live_p95: 400ms
  build_success: 90%
  availability: 0.9
feedback: {every: 8w}
telemetry:
  endpoint: https://otel.example.com:4318
`, `
watch:
  debounce: 30ms
  ignore: ["*.log"]
slo:
  build_success: 0.8
telemetry: {project_names: true, interval: 5s}
`)
	env["LOOP_SLO_BUILD_SUCCESS"] = "0.85"
	env["LOOP_TELEMETRY_PROJECT_NAMES"] = "0"
	env["LOOP_FEEDBACK_EVERY"] = "off"
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lf := filepath.Join(dir, "Loopfile")
	p := &model.Project{Dir: dir, Overrides: model.Overrides{
		Debounce:      &model.Override[time.Duration]{Value: 50 * time.Millisecond, Pos: model.Position{File: lf, Line: 3}},
		Ignore:        &model.Override[[]string]{Value: []string{"!keep.log"}, Pos: model.Position{File: lf, Line: 3}},
		SaveToLiveP95: &model.Override[time.Duration]{Value: time.Second, Pos: model.Position{File: lf, Line: 4}},
		BuildSuccess:  &model.Override[float64]{Value: 0.7, Pos: model.Position{File: lf, Line: 4}},
	}}
	pc := c.ForProject(p)
	tests := []struct {
		name       string
		got, want  any
		origin     Origin
		wantOrigin string
	}{
		{"debounce (files)", c.Watch.Debounce.V, 30 * time.Millisecond, c.Watch.Debounce.Origin, user + ":3"},
		{"debounce (project)", pc.Watch.Debounce.V, 50 * time.Millisecond, pc.Watch.Debounce.Origin, "Loopfile:3"},
		{"max_wait", pc.Watch.MaxWait.V, 3 * time.Second, pc.Watch.MaxWait.Origin, org + ":4"},
		{"save_to_live_p95 (files)", c.SLO.SaveToLiveP95.V, 400 * time.Millisecond, c.SLO.SaveToLiveP95.Origin, org + ":7"},
		{"save_to_live_p95 (project)", pc.SLO.SaveToLiveP95.V, time.Second, pc.SLO.SaveToLiveP95.Origin, "Loopfile:4"},
		{"build_success: env wins over the Loopfile", pc.SLO.BuildSuccess.V, 0.85, pc.SLO.BuildSuccess.Origin, "env LOOP_SLO_BUILD_SUCCESS"},
		{"availability", pc.SLO.Availability.V, 0.9, pc.SLO.Availability.Origin, org + ":9"},
		{"feedback", c.Feedback.Every.V, time.Duration(0), c.Feedback.Every.Origin, "env LOOP_FEEDBACK_EVERY"},
		{"endpoint", c.Telemetry.Endpoint.V, "https://otel.example.com:4318", c.Telemetry.Endpoint.Origin, org + ":12"},
		{"project_names: env wins", c.Telemetry.ProjectNames.V, false, c.Telemetry.ProjectNames.Origin, "env LOOP_TELEMETRY_PROJECT_NAMES"},
		{"interval", c.Telemetry.Interval.V, 5 * time.Second, c.Telemetry.Interval.Origin, user + ":7"},
		{"export", c.Telemetry.Export(), telemetry.Config{Endpoint: "https://otel.example.com:4318", Interval: 5 * time.Second}, Origin{}, "default"},
	}
	for _, tt := range tests {
		if tt.got != tt.want || tt.origin.String() != tt.wantOrigin {
			t.Errorf("%s = %v from %s, want %v from %s", tt.name, tt.got, tt.origin, tt.want, tt.wantOrigin)
		}
	}
	var ignore []string
	for _, v := range pc.Watch.Ignore {
		ignore = append(ignore, v.V+" @ "+v.Origin.String())
	}
	if want := []string{"node_modules/ @ " + org + ":5", "*.log @ " + user + ":4", "!keep.log @ Loopfile:3"}; !slices.Equal(ignore, want) {
		t.Errorf("ignore = %q, want %q", ignore, want)
	}
	if got := pc.WatchSettings(); got.Debounce != 50*time.Millisecond || len(got.Ignore) != 3 {
		t.Errorf("WatchSettings = %+v", got)
	}
	if len(c.Watch.Ignore) != 2 {
		t.Errorf("ForProject changed the files' config: %+v", c.Watch.Ignore)
	}
}

// TestLoad_PolicyUserAddsNeverRelaxes: both files' rules apply; a user's
// warn of a rule the organisation denies leaves the deny in place.
func TestLoad_PolicyUserAddsNeverRelaxes(t *testing.T) {
	env, org, user := files(t, `
policy:
  base_images:
    level: deny
    allow: ["golang:*"]
  catalog_fields: {level: warn, require: [owner, lifecycle]}
`, `
policy:
  base_images: {level: warn, allow: ["*"]}
  test_tasks: {level: deny, require: [test]}
`)
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Rule{
		{Name: "base_images", Level: policy.Deny, Values: []string{"golang:*"}, Origin: org + ":3"},
		{Name: "catalog_fields", Level: policy.Warn, Values: []string{"owner", "lifecycle"}, Origin: org + ":6"},
		{Name: "base_images", Level: policy.Warn, Values: []string{"*"}, Origin: user + ":3"},
		{Name: "test_tasks", Level: policy.Deny, Values: []string{"test"}, Origin: user + ":4"},
	}
	if len(c.Policy) != len(want) {
		t.Fatalf("Policy = %+v, want %+v", c.Policy, want)
	}
	for i := range want {
		if g, w := c.Policy[i], want[i]; g.Name != w.Name || g.Level != w.Level || !slices.Equal(g.Values, w.Values) || g.Origin != w.Origin {
			t.Errorf("Policy[%d] = %+v, want %+v", i, g, w)
		}
	}
	// The organisation's deny still blocks an image the user allows.
	p := &model.Project{Dir: "/p", Resources: []*model.Resource{{Name: "db", Kind: model.KindContainer, Container: &model.Container{Image: "postgres:16"}}}}
	if policy.Blocking(policy.Check(p, c.Policy)) == nil {
		t.Errorf("postgres:16 passes the organisation's base_images deny")
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
		want          []string
	}{
		{"typo", "template:\n  - x\n", 1, []string{`top level: unknown key "template"`, "valid keys: templates, watch, slo, feedback, telemetry, policy"}},
		{"nested typo", "watch:\n  debounce: 10ms\n  maxwait: 1s\n", 3, []string{`watch: unknown key "maxwait"`, "valid keys: debounce, max_wait, ignore"}},
		{"syntax", "templates: [a\n", 0, []string{"line"}},
		{"empty entry", "templates:\n  - ''\n", 2, []string{"templates[0] is empty"}},
		{"wrong type", "templates: 3\n", 1, []string{"templates: want a list"}},
		{"bad duration", "watch: {debounce: fast}\n", 1, []string{`watch.debounce: invalid duration "fast"`}},
		{"max_wait < debounce", "watch:\n  debounce: 2s\n  max_wait: 1s\n", 3, []string{"shorter than watch.debounce"}},
		{"bad ratio", "slo:\n  build_success: 120%\n", 2, []string{`slo.build_success: invalid value "120%"`, "ratio"}},
		{"bad every", "feedback:\n  every: soon\n", 2, []string{"feedback.every"}},
		{"bad endpoint", "telemetry:\n  endpoint: otel:4318\n", 2, []string{"telemetry.endpoint: invalid URL"}},
		{"bad bool", "telemetry:\n  project_names: maybe\n", 2, []string{"telemetry.project_names"}},
		{"unknown rule", "policy:\n  base_image: {level: deny, allow: [x]}\n", 2, []string{`policy: unknown key "base_image"`, "catalog_fields, ship_registries, base_images, test_tasks"}},
		{"bad level", "policy:\n  test_tasks: {level: error, require: [test]}\n", 2, []string{`"error" is neither warn nor deny`}},
		{"no level", "policy:\n  test_tasks:\n    require: [test]\n", 3, []string{"policy.test_tasks: no level"}},
		{"wrong list key", "policy:\n  base_images:\n    level: warn\n    require: [x]\n", 4, []string{`unknown key "require"`, "valid keys: level, allow"}},
		{"no list", "policy:\n  base_images: {level: warn}\n", 2, []string{"no allow list"}},
		{"bad catalog field", "policy:\n  catalog_fields:\n    level: deny\n    require: [owner, sistem]\n", 4, []string{`"sistem" is not a catalog() field`, "owner, team"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, org, _ := files(t, tt.content, "")
			_, err := Load(envOf(env))
			var cerr *Error
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, &cerr) || cerr.File != org || cerr.Line != tt.line {
				t.Errorf("got %v, want a *config.Error at %s:%d", err, org, tt.line)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoad_BadEnvIsAWarning(t *testing.T) {
	env, _, _ := files(t, "slo: {availability: 0.9}\ntelemetry: {endpoint: 'http://127.0.0.1:4318'}\n", "")
	env["LOOP_SLO_AVAILABILITY"] = "2"
	env["LOOP_SLO_SAVE_TO_LIVE_P95"] = "0.5"
	env["LOOP_TELEMETRY_ENDPOINT"] = "127.0.0.1:9090"
	env["LOOP_TELEMETRY_PROJECT_NAMES"] = "maybe"
	env["LOOP_TELEMETRY_INTERVAL"] = "-1s"
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.SLO.Availability.V != 0.9 || c.SLO.SaveToLiveP95.V != 500*time.Millisecond {
		t.Errorf("SLO = %+v", c.SLO)
	}
	if want := (telemetry.Config{Endpoint: "http://127.0.0.1:4318", Interval: telemetry.DefaultInterval}); c.Telemetry.Export() != want {
		t.Errorf("telemetry = %+v, want the file's %+v", c.Telemetry.Export(), want)
	}
	var named []string
	for _, w := range c.Warnings {
		named = append(named, strings.Fields(w)[1])
	}
	want := []string{`LOOP_SLO_AVAILABILITY="2":`, `LOOP_TELEMETRY_ENDPOINT="127.0.0.1:9090":`, `LOOP_TELEMETRY_PROJECT_NAMES="maybe":`, `LOOP_TELEMETRY_INTERVAL="-1s":`}
	if !slices.Equal(named, want) {
		t.Errorf("Warnings = %q, want one for each of %q", c.Warnings, want)
	}
}

func TestLoad_EmptyFile(t *testing.T) {
	env, _, _ := files(t, "# nothing yet\n", "")
	if _, err := Load(envOf(env)); err != nil {
		t.Fatal(err)
	}
}
