package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// argsSchema checks a tool call's arguments against the inputSchema the
// tool declares, the same document tools/list sends: the JSON Schema
// library validates, and the declaration's own properties say what each
// argument should have been. It is the only argument check: handlers read
// arguments that already passed it.
type argsSchema struct {
	tool     string
	compiled *jsonschema.Schema
	props    map[string]propSchema
	order    []string // property names, sorted
}

// propSchema is what a message needs of one declared property.
type propSchema struct {
	Type    string      `json:"type"`
	Minimum *float64    `json:"minimum"`
	Maximum *float64    `json:"maximum"`
	Enum    []any       `json:"enum"`
	Items   *propSchema `json:"items"`
}

// compileArgs compiles t's inputSchema.
func compileArgs(t mcp.Tool) (*argsSchema, error) {
	doc, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("encode %s inputSchema: %w", t.Name, err)
	}
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("decode %s inputSchema: %w", t.Name, err)
	}
	url := "mem:///loop/tools/" + t.Name + ".json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, parsed); err != nil {
		return nil, fmt.Errorf("add %s inputSchema: %w", t.Name, err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compile %s inputSchema: %w", t.Name, err)
	}
	var decl struct {
		Properties map[string]propSchema `json:"properties"`
	}
	if err := json.Unmarshal(doc, &decl); err != nil {
		return nil, fmt.Errorf("decode %s properties: %w", t.Name, err)
	}
	a := &argsSchema{tool: t.Name, compiled: compiled, props: decl.Properties}
	for name := range decl.Properties {
		a.order = append(a.order, name)
	}
	slices.Sort(a.order)
	return a, nil
}

// check validates args (the call's arguments as decoded from JSON; nil
// means none). The error is a userError naming each bad argument, what was
// given and what the schema wants.
func (a *argsSchema) check(args any) error {
	if args == nil {
		args = map[string]any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return userErrorf("%s: arguments are not JSON: %v", a.tool, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return userErrorf("%s: arguments are not JSON: %v", a.tool, err)
	}
	err = a.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return userErrorf("%s: invalid arguments: %v", a.tool, err)
	}
	given, _ := v.(map[string]any)
	var msgs []string
	seen := map[string]bool{}
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	for _, leaf := range leaves(ve) {
		switch k := leaf.ErrorKind.(type) {
		case *kind.Required:
			for _, name := range k.Missing {
				add(fmt.Sprintf("argument %q is missing: want %s", name, a.want(name)))
			}
		case *kind.AdditionalProperties:
			for _, name := range k.Properties {
				add(fmt.Sprintf("unknown argument %q (given %s): %s takes %s", name, show(given[name]), a.tool, a.takes()))
			}
		default:
			if len(leaf.InstanceLocation) == 0 {
				add(fmt.Sprintf("invalid arguments (%v): want an object of named arguments (%s)", leaf.ErrorKind, a.takes()))
				continue
			}
			name := leaf.InstanceLocation[0]
			add(fmt.Sprintf("argument %q is %s: want %s", name, show(given[name]), a.want(name)))
		}
	}
	slices.Sort(msgs)
	return userErrorf("%s: %s (see its inputSchema in tools/list)", a.tool, strings.Join(msgs, "; "))
}

// leaves returns the innermost errors of a validation error's tree: the
// ones that say which keyword failed.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// takes lists the tool's arguments.
func (a *argsSchema) takes() string {
	if len(a.order) == 0 {
		return "no arguments"
	}
	return strings.Join(a.order, ", ")
}

// want describes what the schema accepts for one argument.
func (a *argsSchema) want(name string) string {
	p, ok := a.props[name]
	if !ok {
		return "no such argument"
	}
	return p.describe()
}

func (p propSchema) describe() string {
	if len(p.Enum) > 0 {
		vals := make([]string, len(p.Enum))
		for i, v := range p.Enum {
			vals[i] = jsonText(v)
		}
		return "one of " + strings.Join(vals, ", ")
	}
	var s string
	switch p.Type {
	case "string":
		s = "a string"
	case "integer":
		s = "an integer"
	case "number":
		s = "a number"
	case "boolean":
		s = "true or false"
	case "object":
		s = "an object"
	case "array":
		s = "an array"
		if p.Items != nil {
			s += " of " + strings.TrimPrefix(strings.TrimPrefix(p.Items.describe(), "an "), "a ") + "s"
		}
	default:
		s = "a value"
	}
	switch {
	case p.Minimum != nil && p.Maximum != nil:
		s += fmt.Sprintf(" from %v to %v", *p.Minimum, *p.Maximum)
	case p.Minimum != nil:
		s += fmt.Sprintf(" of at least %v", *p.Minimum)
	case p.Maximum != nil:
		s += fmt.Sprintf(" of at most %v", *p.Maximum)
	}
	return s
}

// show renders a given value as JSON, with its JSON type when the text
// alone does not say it.
func show(v any) string {
	s := jsonText(v)
	switch v.(type) {
	case string:
		return s + " (a string)"
	case nil:
		return "null"
	case map[string]any:
		return s + " (an object)"
	case []any:
		return s + " (an array)"
	}
	return s
}

// jsonText renders v as JSON, cut at 80 bytes.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
