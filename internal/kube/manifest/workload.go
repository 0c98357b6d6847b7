package manifest

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// PodTemplatePath is where a workload kind keeps its pod template (the
// template's metadata and spec are under it; a Pod is its own template,
// the empty path), and whether kind is a workload loop knows.
func PodTemplatePath(kind string) ([]string, bool) {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		return []string{"spec", "template"}, true
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template"}, true
	case "Pod":
		return []string{}, true
	}
	return nil, false
}

// PodSpecPath is where a workload kind keeps its pod spec, or nil for a
// kind that is not a workload.
func PodSpecPath(kind string) []string {
	p, ok := PodTemplatePath(kind)
	if !ok {
		return nil
	}
	return append(p, "spec")
}

// IsWorkload reports whether kind runs pods loop knows how to find.
func IsWorkload(kind string) bool { return PodSpecPath(kind) != nil }

// PodLabels returns the labels of o's pod template (a Pod's own labels),
// or nil.
func PodLabels(o *model.KubeObject) map[string]string {
	p := PodSpecPath(o.Kind)
	if p == nil {
		return nil
	}
	// The pod template's metadata is beside its spec.
	meta := append(slices.Clone(p[:len(p)-1]), "metadata", "labels")
	return strMap(get(fields(o), meta))
}

// Selects reports whether the Service svc selects the pods of workload w:
// same namespace, and a non-empty spec.selector whose every label the pod
// template has.
func Selects(svc, w *model.KubeObject) bool {
	if svc.Kind != "Service" || svc.Namespace != w.Namespace {
		return false
	}
	sel := strMap(get(fields(svc), []string{"spec", "selector"}))
	if len(sel) == 0 {
		return false
	}
	labels := PodLabels(w)
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// Images returns the image references o runs, in order and without
// repeats: every containers[].image and initContainers[].image of its pod
// spec, then the fields at extra (dotted paths such as "spec.image"; a
// list on the way is looked into element by element).
func Images(o *model.KubeObject, extra ...string) []string {
	m := fields(o)
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if p := PodSpecPath(o.Kind); p != nil {
		for _, list := range []string{"initContainers", "containers"} {
			cs, _ := get(m, append(slices.Clone(p), list)).([]any)
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					add(cm["image"])
				}
			}
		}
	}
	for _, path := range extra {
		for _, v := range getAll(m, strings.Split(path, ".")) {
			add(v)
		}
	}
	return out
}

// get follows path through nested maps.
func get(v any, path []string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// getAll follows path through nested maps, and through each element of a
// list found on the way.
func getAll(v any, path []string) []any {
	if l, ok := v.([]any); ok {
		var out []any
		for _, e := range l {
			out = append(out, getAll(e, path)...)
		}
		return out
	}
	if len(path) == 0 {
		return []any{v}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return getAll(m[path[0]], path[1:])
}

func strMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// ApplyRank orders kinds for apply: namespaces first, then CRDs, then
// what others refer to (accounts, RBAC, config, storage), then Services
// and other objects, and workloads last. Lower applies first.
func ApplyRank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"PriorityClass", "StorageClass", "ResourceQuota", "LimitRange", "NetworkPolicy":
		return 2
	case "ConfigMap", "Secret", "PersistentVolume", "PersistentVolumeClaim":
		return 3
	case "Service":
		return 4
	}
	if IsWorkload(kind) {
		return 6
	}
	return 5
}

// SortForApply sorts objs by ApplyRank, keeping the given order within a
// rank.
func SortForApply(objs []*model.KubeObject) {
	slices.SortStableFunc(objs, func(a, b *model.KubeObject) int {
		return cmp.Compare(ApplyRank(a.Kind), ApplyRank(b.Kind))
	})
}

// sortedKeys is maps.Keys, sorted.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// ContainerNames returns the names of the containers of o's pod spec.
func ContainerNames(o *model.KubeObject) []string {
	p := PodSpecPath(o.Kind)
	cs, _ := get(fields(o), append(slices.Clone(p), "containers")).([]any)
	var out []string
	for _, c := range cs {
		if cm, ok := c.(map[string]any); ok {
			if n, ok := cm["name"].(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}
