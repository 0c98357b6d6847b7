// Package manifest turns what a Loopfile points at (plain YAML or JSON
// files, a kustomization, a Helm chart) into Kubernetes objects
// (model.KubeObject), and answers the questions loop asks of them: is it
// a workload, where is its pod spec, which images does it run, which
// Service selects it, in what order is it applied.
//
// Everything here only reads: a kustomization is built with krusty on a
// file system that refuses writes (and remote bases), a chart is rendered
// client-side with Helm's chart loader and template engine (no cluster, no
// repository). Kustomize and Helm return the files they read, so a
// Loopfile that uses them is evaluated again when one changes.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/loopdev/loop/internal/model"
)

// MaxDocument bounds one YAML document of a stream (a rendered chart or
// kustomization, a manifest file).
const MaxDocument = 4 << 20

// Decode splits a multi-document YAML (or JSON) stream into objects, in
// order. Empty documents are skipped; a List (kind ending in "List" with
// items) is flattened into its items. Every object needs apiVersion, kind
// and metadata.name; the error names source and the document (counted
// from 1). Each object's Manifest is its YAML, re-encoded.
func Decode(source string, data []byte) ([]*model.KubeObject, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(data), 4096))
	var out []*model.KubeObject
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if len(raw) > MaxDocument {
			return nil, fmt.Errorf("%s: document %d is %d bytes, over the limit of %d (MaxDocument)", source, doc, len(raw), MaxDocument)
		}
		var m map[string]any
		if err := yaml.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if len(m) == 0 {
			continue
		}
		objs, err := objects(source, m)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		out = append(out, objs...)
	}
}

// objects makes the object m, or the items of the List m.
func objects(source string, m map[string]any) ([]*model.KubeObject, error) {
	kind, _ := m["kind"].(string)
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var out []*model.KubeObject
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s item %d: got %T, want an object", kind, i, it)
			}
			o, err := object(source, im)
			if err != nil {
				return nil, fmt.Errorf("%s item %d: %w", kind, i, err)
			}
			out = append(out, o)
		}
		return out, nil
	}
	o, err := object(source, m)
	if err != nil {
		return nil, err
	}
	return []*model.KubeObject{o}, nil
}

func object(source string, m map[string]any) (*model.KubeObject, error) {
	o := &model.KubeObject{Source: source}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.Kind, _ = m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	switch {
	case o.APIVersion == "":
		return nil, errors.New("missing apiVersion")
	case o.Kind == "":
		return nil, errors.New("missing kind")
	case o.Name == "":
		if _, gen := meta["generateName"]; gen {
			return nil, fmt.Errorf("%s uses metadata.generateName: loop applies objects by name, give it a metadata.name", o.Kind)
		}
		return nil, fmt.Errorf("%s without metadata.name", o.Kind)
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	o.Manifest = string(b)
	return o, nil
}

// Join renders objects as one YAML stream (documents separated by "---").
func Join(objs []*model.KubeObject) []byte {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(o.Manifest)
	}
	return b.Bytes()
}

// fields parses an object's manifest.
func fields(o *model.KubeObject) map[string]any {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(o.Manifest), &m); err != nil {
		return nil
	}
	return m
}
