// Package config reads loop's configuration (docs/config.md): the
// organisation's file (installed on every machine, e.g. by a managed image
// or a dotfile manager), the user's file, a project's Loopfile overrides
// and environment variables, layered in that order over built-in defaults.
// Both files are optional YAML with the same keys:
//
//	# /etc/loop/config.yaml or ~/.config/loop/config.yaml
//	templates:                     # template sources of `loop new`
//	  - https://git.example.com/platform/templates.git
//	  - ../team-templates          # relative to this file
//	watch: {debounce: 15ms, max_wait: 2s, ignore: [node_modules/]}
//	slo: {save_to_live_p95: 300ms, build_success: 0.95, availability: 0.99}
//	feedback: {every: 4w}
//	telemetry: {endpoint: https://otel.example.com:4318, project_names: false}
//	policy:
//	  base_images: {level: deny, allow: ["golang:*", "registry.corp/*"]}
//
// Every effective value carries its Origin ("default", a file:line, "env
// NAME", "Loopfile:3"), which `loop config --show-origin` prints. The
// policy rules (package policy) of both files all apply: the user's file
// may add rules, never relax the organisation's.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
	"github.com/loopdev/loop/internal/telemetry"
)

// Origin says where an effective value comes from; the zero Origin is
// loop's built-in default.
type Origin struct {
	File string // a config file, or the Loopfile relative to its project ("Loopfile")
	Line int
	Env  string // the environment variable that set it
}

func (o Origin) String() string {
	switch {
	case o.Env != "":
		return "env " + o.Env
	case o.File == "":
		return "default"
	case o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// Value is an effective value and its origin.
type Value[T any] struct {
	V      T
	Origin Origin
}

// Watch are the defaults of a project's file watcher (watch_settings()).
type Watch struct {
	Debounce Value[time.Duration]
	MaxWait  Value[time.Duration]
	Ignore   []Value[string] // gitignore-style patterns: the files', then the Loopfile's
}

// SLO are loop's SLO targets (docs/metrics.md).
type SLO struct {
	SaveToLiveP95 Value[time.Duration]
	BuildSuccess  Value[float64]
	Availability  Value[float64]
}

// Targets are the values, as package metrics takes them.
func (s SLO) Targets() metrics.Targets {
	return metrics.Targets{SaveToLiveP95: s.SaveToLiveP95.V, BuildSuccess: s.BuildSuccess.V, Availability: s.Availability.V}
}

// Feedback is how often `loop up` asks for feedback.
type Feedback struct {
	Every Value[time.Duration] // 0: never
}

// Telemetry configures the export of loop's telemetry (OTLP).
type Telemetry struct {
	Endpoint     Value[string] // an http(s) URL; "" = no export
	ProjectNames Value[bool]   // whether what is exported may name projects (else they are hashed or left out)
	Interval     Value[time.Duration]
}

// Export is the exporter's configuration.
func (t Telemetry) Export() telemetry.Config {
	return telemetry.Config{Endpoint: t.Endpoint.V, ProjectNames: t.ProjectNames.V, Interval: t.Interval.V}
}

// Config is the effective configuration.
type Config struct {
	Watch     Watch
	SLO       SLO
	Feedback  Feedback
	Telemetry Telemetry
	// Templates are template sources for `loop new`: the organisation's,
	// the user's, then LOOP_TEMPLATES' (directories are absolute).
	Templates []Value[string]
	// Policy are the rules of both files (the organisation's first); all
	// apply.
	Policy []policy.Rule
	// Files are the configuration files that exist, in the order read.
	Files []string
	// Warnings are environment variables with values loop cannot use
	// (their defaults apply).
	Warnings []string
}

// DefaultFeedbackEvery is how often `loop up` asks for feedback at most.
const DefaultFeedbackEvery = 4 * 7 * 24 * time.Hour

// Default returns the built-in configuration.
func Default() *Config {
	d := metrics.DefaultTargets
	return &Config{
		Watch: Watch{Debounce: Value[time.Duration]{V: model.DefaultDebounce}, MaxWait: Value[time.Duration]{V: model.DefaultMaxWait}},
		SLO: SLO{SaveToLiveP95: Value[time.Duration]{V: d.SaveToLiveP95},
			BuildSuccess: Value[float64]{V: d.BuildSuccess}, Availability: Value[float64]{V: d.Availability}},
		Feedback:  Feedback{Every: Value[time.Duration]{V: DefaultFeedbackEvery}},
		Telemetry: Telemetry{Interval: Value[time.Duration]{V: telemetry.DefaultInterval}},
	}
}

// Paths returns the organisation's and the user's configuration file
// paths. getenv is os.Getenv in production:
//   - organisation: $LOOP_ORG_CONFIG, else /etc/loop/config.yaml;
//   - user: $LOOP_CONFIG, else $XDG_CONFIG_HOME/loop/config.yaml, else
//     $HOME/.config/loop/config.yaml ("" when there is no home).
func Paths(getenv func(string) string) (org, user string) {
	org = getenv("LOOP_ORG_CONFIG")
	if org == "" {
		org = "/etc/loop/config.yaml"
	}
	user = getenv("LOOP_CONFIG")
	if user == "" {
		if x := getenv("XDG_CONFIG_HOME"); x != "" {
			user = filepath.Join(x, "loop", "config.yaml")
		} else if h := getenv("HOME"); h != "" {
			user = filepath.Join(h, ".config", "loop", "config.yaml")
		}
	}
	return org, user
}

// Load reads the organisation's and the user's files (missing ones are
// skipped) over the defaults, then the environment variables. A file
// that cannot be used is an *Error with its file and line.
func Load(getenv func(string) string) (*Config, error) {
	org, user := Paths(getenv)
	c := Default()
	for _, p := range []string{org, user} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.apply(p, b); err != nil {
			return nil, err
		}
		c.Files = append(c.Files, p)
	}
	c.applyEnv(getenv)
	return c, nil
}

// TemplateSources are the template sources, without origins.
func (c *Config) TemplateSources() []string {
	out := make([]string, len(c.Templates))
	for i, t := range c.Templates {
		out[i] = t.V
	}
	return out
}

// ForProject returns c with the overrides of an evaluated Loopfile
// (watch_settings(), slo_targets()) over the files' values, under the
// environment variables' (an environment variable still wins). Origins
// name the Loopfile relative to the project directory.
func (c *Config) ForProject(p *model.Project) *Config {
	cp := *c
	cp.Watch.Ignore = append([]Value[string](nil), c.Watch.Ignore...)
	o := p.Overrides
	at := func(pos model.Position) Origin {
		f := pos.File
		if r, err := filepath.Rel(p.Dir, f); err == nil {
			f = filepath.ToSlash(r)
		}
		return Origin{File: f, Line: pos.Line}
	}
	if o.Debounce != nil {
		set(&cp.Watch.Debounce, o.Debounce.Value, at(o.Debounce.Pos))
	}
	if o.MaxWait != nil {
		set(&cp.Watch.MaxWait, o.MaxWait.Value, at(o.MaxWait.Pos))
	}
	if o.Ignore != nil {
		for _, pat := range o.Ignore.Value {
			cp.Watch.Ignore = append(cp.Watch.Ignore, Value[string]{pat, at(o.Ignore.Pos)})
		}
	}
	if o.SaveToLiveP95 != nil {
		set(&cp.SLO.SaveToLiveP95, o.SaveToLiveP95.Value, at(o.SaveToLiveP95.Pos))
	}
	if o.BuildSuccess != nil {
		set(&cp.SLO.BuildSuccess, o.BuildSuccess.Value, at(o.BuildSuccess.Pos))
	}
	return &cp
}

// set overrides v unless an environment variable set it.
func set[T any](v *Value[T], x T, o Origin) {
	if v.Origin.Env == "" {
		*v = Value[T]{x, o}
	}
}

// WatchSettings are the effective watch settings.
func (c *Config) WatchSettings() model.WatchSettings {
	w := model.WatchSettings{Debounce: c.Watch.Debounce.V, MaxWait: c.Watch.MaxWait.V}
	for _, v := range c.Watch.Ignore {
		w.Ignore = append(w.Ignore, v.V)
	}
	return w
}
