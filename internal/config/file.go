package config

// One config file: YAML read as nodes, so that every value keeps its line
// (its Origin) and every error points at one.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/policy"
	"github.com/loopdev/loop/internal/telemetry"
)

// Error is a config file that cannot be used: where, what, what to do.
type Error struct {
	File string
	Line int // 0: the whole file
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	s := "config " + e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	s += ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Top-level keys and each section's keys, in the order docs/config.md
// shows them.
var (
	topKeys       = []string{"templates", "watch", "slo", "feedback", "telemetry", "policy"}
	watchKeys     = []string{"debounce", "max_wait", "ignore"}
	sloKeys       = []string{"save_to_live_p95", "build_success", "availability"}
	feedbackKeys  = []string{"every"}
	telemetryKeys = []string{"endpoint", "project_names", "interval"}
)

// fileReader reads one file's nodes into a Config; the first error is
// kept and later reads do nothing.
type fileReader struct {
	path string
	err  error
}

func (r *fileReader) fail(n *yaml.Node, hint, format string, xs ...any) {
	if r.err == nil {
		r.err = &Error{File: r.path, Line: n.Line, Msg: fmt.Sprintf(format, xs...), Hint: hint}
	}
}

func (r *fileReader) origin(n *yaml.Node) Origin { return Origin{File: r.path, Line: n.Line} }

// mapping returns the key/value nodes of a mapping node in order, after
// checking each key against valid; where names the section in errors.
func (r *fileReader) mapping(n *yaml.Node, where string, valid []string) [][2]*yaml.Node {
	if r.err != nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		r.fail(n, "keys: "+strings.Join(valid, ", "), "%s: want a mapping of keys, got %s", where, kind(n))
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(valid, k.Value) {
			r.fail(k, "valid keys: "+strings.Join(valid, ", "), "%s: unknown key %q", where, k.Value)
			return nil
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

// scalar returns a scalar node's text.
func (r *fileReader) scalar(n *yaml.Node, where, want string) (string, bool) {
	if r.err != nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		r.fail(n, "", "%s: want %s, got %s", where, want, kind(n))
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// strings returns a list of non-empty strings.
func (r *fileReader) strings(n *yaml.Node, where string) []Value[string] {
	if r.err != nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.fail(n, "write it as [a, b] or one `- item` per line", "%s: want a list, got %s", where, kind(n))
		return nil
	}
	var out []Value[string]
	for i, e := range n.Content {
		s, ok := r.scalar(e, fmt.Sprintf("%s[%d]", where, i), "a string")
		if !ok {
			return nil
		}
		if s == "" {
			r.fail(e, "remove it, or give a value", "%s[%d] is empty", where, i)
			return nil
		}
		out = append(out, Value[string]{s, r.origin(e)})
	}
	return out
}

func (r *fileReader) duration(n *yaml.Node, where string) (Value[time.Duration], bool) {
	s, ok := r.scalar(n, where, "a duration")
	if !ok {
		return Value[time.Duration]{}, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		r.fail(n, `a positive Go duration such as "15ms", "2s" or "1m30s"`, "%s: invalid duration %q", where, s)
		return Value[time.Duration]{}, false
	}
	return Value[time.Duration]{d, r.origin(n)}, true
}

// parseWith reads a scalar with one of package metrics' parsers.
func parseWith[T any](r *fileReader, n *yaml.Node, where, want string, parse func(string) (T, error)) (Value[T], bool) {
	s, ok := r.scalar(n, where, want)
	if !ok {
		return Value[T]{}, false
	}
	v, err := parse(s)
	if err != nil {
		r.fail(n, err.Error(), "%s: invalid value %q", where, s)
		return Value[T]{}, false
	}
	return Value[T]{v, r.origin(n)}, true
}

// apply reads the file at path (content b) over c.
func (c *Config) apply(path string, b []byte) error {
	r := &fileReader{path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: "), Hint: "fix the YAML syntax"}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty, or only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	for _, kv := range r.mapping(root, "top level", topKeys) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "templates":
			for _, t := range r.strings(v, "templates") {
				if !isURL(t.V) && !filepath.IsAbs(t.V) {
					t.V = filepath.Join(filepath.Dir(path), t.V)
				}
				c.Templates = append(c.Templates, t)
			}
		case "watch":
			r.watch(c, v)
		case "slo":
			r.slo(c, v)
		case "feedback":
			for _, kv := range r.mapping(v, "feedback", feedbackKeys) {
				if e, ok := parseWith(r, kv[1], "feedback.every", `a window such as "4w", "14d", or "off"`, parseEvery); ok {
					c.Feedback.Every = e
				}
			}
		case "telemetry":
			r.telemetry(c, v)
		case "policy":
			r.policy(c, v)
		}
	}
	return r.err
}

func (r *fileReader) watch(c *Config, n *yaml.Node) {
	var debounce, maxWait *yaml.Node
	w := c.Watch
	for _, kv := range r.mapping(n, "watch", watchKeys) {
		switch k, v := kv[0].Value, kv[1]; k {
		case "debounce":
			if d, ok := r.duration(v, "watch.debounce"); ok {
				w.Debounce, debounce = d, v
			}
		case "max_wait":
			if d, ok := r.duration(v, "watch.max_wait"); ok {
				w.MaxWait, maxWait = d, v
			}
		case "ignore":
			w.Ignore = append(w.Ignore, r.strings(v, "watch.ignore")...)
		}
	}
	if debounce != nil && maxWait != nil && w.MaxWait.V < w.Debounce.V {
		r.fail(maxWait, "make max_wait at least as long as debounce",
			"watch.max_wait: %s is shorter than watch.debounce %s", w.MaxWait.V, w.Debounce.V)
	}
	if r.err == nil {
		c.Watch = w
	}
}

func (r *fileReader) slo(c *Config, n *yaml.Node) {
	for _, kv := range r.mapping(n, "slo", sloKeys) {
		switch k, v := kv[0].Value, kv[1]; k {
		case "save_to_live_p95":
			if d, ok := parseWith(r, v, "slo.save_to_live_p95", "a duration", metrics.ParseLatency); ok {
				c.SLO.SaveToLiveP95 = d
			}
		case "build_success":
			if f, ok := parseWith(r, v, "slo.build_success", "a ratio", metrics.ParseRatio); ok {
				c.SLO.BuildSuccess = f
			}
		case "availability":
			if f, ok := parseWith(r, v, "slo.availability", "a ratio", metrics.ParseRatio); ok {
				c.SLO.Availability = f
			}
		}
	}
}

func (r *fileReader) telemetry(c *Config, n *yaml.Node) {
	for _, kv := range r.mapping(n, "telemetry", telemetryKeys) {
		switch k, v := kv[0].Value, kv[1]; k {
		case "endpoint":
			s, ok := r.scalar(v, "telemetry.endpoint", "a URL")
			if !ok {
				return
			}
			if err := telemetry.CheckEndpoint(s); err != nil {
				r.fail(v, `an http(s) URL of an OTLP/HTTP collector, e.g. "https://otel.example.com:4318"`, "telemetry.endpoint: invalid URL %q", s)
				return
			}
			c.Telemetry.Endpoint = Value[string]{s, r.origin(v)}
		case "project_names":
			if b, ok := parseWith(r, v, "telemetry.project_names", "true or false", strconv.ParseBool); ok {
				c.Telemetry.ProjectNames = b
			}
		case "interval":
			if d, ok := parseWith(r, v, "telemetry.interval", "a positive duration such as 60s", parseInterval); ok {
				c.Telemetry.Interval = d
			}
		}
	}
}

// policy reads the policy rules: each a mapping of level and its list.
func (r *fileReader) policy(c *Config, n *yaml.Node) {
	for _, kv := range r.mapping(n, "policy", policy.Names) {
		name, v := kv[0].Value, kv[1]
		where := "policy." + name
		key := policy.ValuesKey(name)
		rule := policy.Rule{Name: name, Origin: r.origin(kv[0]).String()}
		var level, values *yaml.Node
		for _, kv := range r.mapping(v, where, []string{"level", key}) {
			if kv[0].Value == "level" {
				level = kv[1]
				s, _ := r.scalar(level, where+".level", "warn or deny")
				rule.Level = policy.Level(s)
				if r.err == nil && rule.Level != policy.Warn && rule.Level != policy.Deny {
					r.fail(level, "level: warn (a warning) or level: deny (an error unless the Loopfile has a policy_exception())", "%s.level: %q is neither warn nor deny", where, s)
				}
				continue
			}
			values = kv[1]
			for _, s := range r.strings(values, where+"."+key) {
				if name == policy.CatalogFields && !slices.Contains(policy.CatalogFieldNames, s.V) {
					r.fail(values, "catalog() fields: "+strings.Join(policy.CatalogFieldNames, ", "), "%s.%s: %q is not a catalog() field", where, key, s.V)
				}
				rule.Values = append(rule.Values, s.V)
			}
		}
		switch {
		case r.err != nil:
			return
		case level == nil:
			r.fail(v, "add level: warn or level: deny", "%s: no level", where)
		case values == nil || len(rule.Values) == 0:
			r.fail(v, fmt.Sprintf("add %s: [...]", key), "%s: no %s list", where, key)
		}
		c.Policy = append(c.Policy, rule)
	}
}

// isURL reports whether a template source is a URL or scp-style git
// address rather than a path.
func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}
