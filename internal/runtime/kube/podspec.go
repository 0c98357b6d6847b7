package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/loopdev/loop/internal/kube/manifest"
)

// podSpec is a pod template (its metadata is in template) and its spec.
type podSpec struct {
	template map[string]any
	spec     map[string]any
}

// podSpecs returns the pod template of u, if its kind has one (and the
// manifest sets its spec), as maps into u.
func podSpecs(u *unstructured.Unstructured) []podSpec {
	path, ok := manifest.PodTemplatePath(u.GetKind())
	if !ok {
		return nil
	}
	var tmpl map[string]any
	if len(path) == 0 {
		tmpl = u.Object
	} else {
		v, found, err := unstructured.NestedFieldNoCopy(u.Object, path...)
		if err != nil || !found {
			return nil
		}
		tmpl, _ = v.(map[string]any)
	}
	if tmpl == nil {
		return nil
	}
	spec, _ := tmpl["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	return []podSpec{{template: tmpl, spec: spec}}
}

// containers are the containers (field "containers" or
// "initContainers") of a pod spec, as maps into it.
func containers(spec map[string]any, field string) []map[string]any {
	list, _ := spec[field].([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
