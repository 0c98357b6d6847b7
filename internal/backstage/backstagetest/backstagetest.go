// Package backstagetest checks Backstage entity YAML for tests, the unit
// tests of package backstage and the e2e test of `loop catalog export`
// alike: Validate splits a stream, checks each document against
// entity.schema.json (what Backstage requires of the System, Component and
// API kinds: required fields, name, tag and reference rules) and that
// every reference between the entities resolves to one of them.
package backstagetest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

//go:embed entity.schema.json
var schemaJSON []byte

// Entity is one decoded entity document.
type Entity = map[string]any

// Check is Validate that fails t.
func Check(t testing.TB, stream []byte) []Entity {
	t.Helper()
	es, err := Validate(stream)
	if err != nil {
		t.Fatalf("not valid Backstage entities: %v\n%s", err, stream)
	}
	return es
}

// Validate decodes a multi-document YAML stream of entities and checks
// them. Owners (groups, users) are outside the stream and not resolved.
func Validate(stream []byte) ([]Entity, error) {
	schema, err := compile()
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	var es []Entity
	var errs []error
	for i := 0; ; i++ {
		var e Entity
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if err := validate(schema, e); err != nil {
			errs = append(errs, fmt.Errorf("document %d (%v %v): %w", i, e["kind"], Name(e), err))
		}
		es = append(es, e)
	}
	if len(es) == 0 {
		return nil, errors.New("no entities")
	}
	if len(errs) > 0 {
		return es, errors.Join(errs...)
	}
	return es, resolve(es)
}

// Name is an entity's metadata.name.
func Name(e Entity) string {
	m, _ := e["metadata"].(map[string]any)
	s, _ := m["name"].(string)
	return s
}

// Spec is an entity's spec.
func Spec(e Entity) map[string]any {
	m, _ := e["spec"].(map[string]any)
	return m
}

// Ref is e's full reference, lowercase: "component:default/name".
func Ref(e Entity) string {
	return strings.ToLower(fmt.Sprintf("%v:default/%s", e["kind"], Name(e)))
}

func compile() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("entity schema: %w", err)
	}
	const url = "mem:///backstagetest/entity.schema.json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("entity schema: %w", err)
	}
	return c.Compile(url)
}

func validate(s *jsonschema.Schema, e Entity) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// resolve checks that names are unique per kind and that spec.system,
// subcomponentOf, providesApis and dependsOn name entities of the stream.
func resolve(es []Entity) error {
	have := map[string]bool{}
	for _, e := range es {
		r := Ref(e)
		if have[r] {
			return fmt.Errorf("%s is written twice", r)
		}
		have[r] = true
	}
	var errs []error
	for _, e := range es {
		spec := Spec(e)
		var refs []any
		for _, k := range []string{"system", "subcomponentOf"} {
			if v, ok := spec[k]; ok {
				refs = append(refs, v)
			}
		}
		for _, k := range []string{"providesApis", "dependsOn"} {
			l, _ := spec[k].([]any)
			refs = append(refs, l...)
		}
		for _, r := range refs {
			if s, _ := r.(string); !have[strings.ToLower(s)] {
				errs = append(errs, fmt.Errorf("%s refers to %v, which is not in the stream", Ref(e), r))
			}
		}
	}
	return errors.Join(errs...)
}
