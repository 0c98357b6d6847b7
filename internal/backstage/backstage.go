// Package backstage maps a project's catalog() metadata to Backstage
// software-catalog entities (`catalog-info.yaml`), for `loop catalog
// export`: a Component per catalog()'d target, an API per OpenAPI file, a
// System per system named (docs/catalog.md#backstage).
//
// Export is a pure function of the evaluated model.Project (plus the
// OpenAPI files it reads and the git source the caller found); Write
// renders the entities as one multi-document YAML stream in a fixed order,
// so the same Loopfile always gives the same bytes. Names, tags and entity
// references follow Backstage's validation rules (names.go).
package backstage

import (
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// APIVersion is the apiVersion of every entity written.
const APIVersion = "backstage.io/v1alpha1"

// The kinds written, in the order Write puts them.
const (
	KindSystem    = "System"
	KindComponent = "Component"
	KindAPI       = "API"
)

// kindOrder is the order of kinds in the output.
var kindOrder = map[string]int{KindSystem: 0, KindComponent: 1, KindAPI: 2}

// Entity is one Backstage entity descriptor.
type Entity struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`
}

// Metadata is an entity's metadata; the namespace is left out, so it is
// Backstage's "default".
type Metadata struct {
	Name        string            `yaml:"name"`
	Title       string            `yaml:"title,omitempty"`
	Description string            `yaml:"description,omitempty"`
	Tags        []string          `yaml:"tags,omitempty"`
	Links       []Link            `yaml:"links,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"` // written sorted by key
}

// Link is an entry of metadata.links.
type Link struct {
	URL   string `yaml:"url"`
	Title string `yaml:"title,omitempty"`
	Icon  string `yaml:"icon,omitempty"`
}

// Spec holds the spec fields of every kind written; each kind sets its own
// (a System only Owner).
type Spec struct {
	Type           string      `yaml:"type,omitempty"`
	Lifecycle      string      `yaml:"lifecycle,omitempty"`
	Owner          string      `yaml:"owner"`
	System         string      `yaml:"system,omitempty"`
	SubcomponentOf string      `yaml:"subcomponentOf,omitempty"`
	ProvidesAPIs   []string    `yaml:"providesApis,omitempty"`
	DependsOn      []string    `yaml:"dependsOn,omitempty"`
	Definition     *Definition `yaml:"definition,omitempty"`
}

// Definition is an API's spec.definition: the document's text, or a
// reference Backstage resolves relative to the catalog-info.yaml
// (`$text: ./api/openapi.yaml`).
type Definition struct {
	Text string // inline document
	Ref  string // relative path, "./..." ("" = inline)
}

// MarshalYAML writes the text as a literal block, or {$text: REF}.
func (d *Definition) MarshalYAML() (any, error) {
	if d.Ref != "" {
		return map[string]string{"$text": d.Ref}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Value: d.Text}, nil
}

// Write renders entities as one YAML stream, a document each, in the order
// given (Export's).
func Write(w io.Writer, entities []Entity) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	for i := range entities {
		if err := enc.Encode(&entities[i]); err != nil {
			return fmt.Errorf("write %s %s: %w", entities[i].Kind, entities[i].Metadata.Name, err)
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write entities: %w", err)
	}
	return nil
}
