package kube

// What loop applies: each object of the workload parsed from its YAML,
// with the exact build of every loop image, loop's labels, the default
// namespace, and for live update the supervisor injected into the target
// container.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/loopdev/loop/internal/model"
)

// Labels (and, when a name is no valid label value, annotations with the
// real name) loop puts on every object it applies and on pod templates.
const (
	LabelProject  = "dev.loop.project"
	LabelResource = "dev.loop.resource"
)

// Live-update injection: the volume the supervisor is installed into,
// where it is mounted, and the init container that installs it.
const (
	supervisorVolume = "loop-supervisor"
	supervisorDir    = "/.loop"
	supervisorInit   = "loop-supervisor"
)

// render is what rendering needs besides the workload.
type render struct {
	Project, Resource string
	Images            map[string]string // image() name -> the pinned reference
	// Live update, when the workload has it: the supervisor image and
	// the container's command under the supervisor, given its original
	// command (nil: the image's) and args.
	SupervisorImage string
	Wrap            func(image string, command, args []string) ([]string, error)
}

// renderObjects parses and rewrites every object of w, in order.
func renderObjects(w *model.Workload, r render) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(w.Objects))
	injected := false
	for _, o := range w.Objects {
		u, err := renderObject(w, o, r)
		if err != nil {
			return nil, fmt.Errorf("%s (from %s): %w", o.ID(), o.Source, err)
		}
		if w.LiveUpdate && !injected && w.Kind != "" && u.GetKind() == w.Kind && u.GetName() == w.Name {
			if err := injectSupervisor(u, w.Container, r); err != nil {
				return nil, fmt.Errorf("%s (from %s): live update: %w", o.ID(), o.Source, err)
			}
			injected = true
		}
		out = append(out, u)
	}
	if w.LiveUpdate && !injected && w.Kind != "" {
		return nil, fmt.Errorf("live update: no %s/%s among the objects to apply", w.Kind, w.Name)
	}
	return out, nil
}

func renderObject(w *model.Workload, o *model.KubeObject, r render) (*unstructured.Unstructured, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(o.Manifest), &m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("empty manifest")
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
		return nil, fmt.Errorf("manifest needs apiVersion, kind and metadata.name")
	}
	setLoopMeta(u.Object, r.Project, r.Resource)
	for _, pod := range podSpecs(u) {
		setLoopMeta(pod.template, r.Project, r.Resource)
		for _, field := range []string{"initContainers", "containers"} {
			for _, c := range containers(pod.spec, field) {
				if ref, ok := pinned(c["image"], r.Images); ok {
					c["image"] = ref
					c["imagePullPolicy"] = "IfNotPresent"
				}
			}
		}
	}
	for _, p := range w.ImagePaths {
		path := strings.Split(p, ".")
		v, found, err := unstructured.NestedFieldNoCopy(u.Object, path...)
		if err != nil || !found {
			continue
		}
		if ref, ok := pinned(v, r.Images); ok {
			if err := unstructured.SetNestedField(u.Object, ref, path...); err != nil {
				return nil, fmt.Errorf("image path %s: %w", p, err)
			}
		}
	}
	return u, nil
}

// setNamespace gives a namespaced object without a namespace def; a
// cluster-scoped one must have none. (Done when the object is applied:
// a custom kind is known once its CRD, applied before it, is.)
func setNamespace(u *unstructured.Unstructured, namespaced bool, def string) error {
	switch {
	case namespaced && u.GetNamespace() == "":
		u.SetNamespace(def)
	case !namespaced && u.GetNamespace() != "":
		return fmt.Errorf("%s is cluster-scoped but the manifest sets namespace %q: remove it", u.GetKind(), u.GetNamespace())
	}
	return nil
}

// pinned returns the pinned reference of the loop image v names ("app",
// "app:latest", "app@sha256:..." all name image "app").
func pinned(v any, images map[string]string) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	if ref, ok := images[s]; ok {
		return ref, true
	}
	ref, ok := images[repository(s)]
	return ref, ok
}

// repository is ref without its tag or digest.
func repository(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// setLoopMeta adds loop's labels (and annotations with names that are no
// valid label value) to the object or pod template meta holds.
func setLoopMeta(obj map[string]any, project, resource string) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	for k, v := range map[string]string{LabelProject: project, LabelResource: resource} {
		lv := LabelValue(v)
		setString(meta, "labels", k, lv)
		if lv != v {
			setString(meta, "annotations", k, v)
		}
	}
}

func setString(meta map[string]any, field, key, value string) {
	m, _ := meta[field].(map[string]any)
	if m == nil {
		m = map[string]any{}
		meta[field] = m
	}
	m[key] = value
}

var badLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// LabelValue is s when it is a valid label value, else s with invalid
// characters replaced, cut and suffixed with a hash of s (so distinct
// names stay distinct).
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	v := strings.Trim(badLabel.ReplaceAllString(s, "-"), "-_.")
	if len(v) > 52 {
		v = strings.TrimRight(v[:52], "-_.")
	}
	if v == "" {
		return hex.EncodeToString(sum[:])[:16]
	}
	return v + "-" + hex.EncodeToString(sum[:])[:10]
}

// injectSupervisor makes the pod of the workload u run its target
// container (named, or "" = the first) under loop's supervisor: an
// emptyDir at /.loop, an init container that installs the supervisor
// there, and the container's command wrapped.
func injectSupervisor(u *unstructured.Unstructured, name string, r render) error {
	pods := podSpecs(u)
	if len(pods) == 0 {
		return fmt.Errorf("%s has no pod template", u.GetKind())
	}
	spec := pods[0].spec
	cs := containers(spec, "containers")
	var target map[string]any
	for _, c := range cs {
		if name == "" || c["name"] == name {
			target = c
			break
		}
	}
	if target == nil {
		if name == "" {
			return fmt.Errorf("the pod has no containers")
		}
		return fmt.Errorf("the pod has no container %q (it has: %s)", name, strings.Join(containerNames(cs), ", "))
	}
	image, _ := target["image"].(string)
	command, args := stringList(target["command"]), stringList(target["args"])
	argv, err := r.Wrap(image, command, args)
	if err != nil {
		return fmt.Errorf("container %s: %w", target["name"], err)
	}
	target["command"] = toAny(argv)
	delete(target, "args")
	mount := map[string]any{"name": supervisorVolume, "mountPath": supervisorDir}
	target["volumeMounts"] = appendNamed(target["volumeMounts"], mount)
	spec["volumes"] = appendNamed(spec["volumes"], map[string]any{"name": supervisorVolume, "emptyDir": map[string]any{}})
	initC := map[string]any{
		"name":            supervisorInit,
		"image":           r.SupervisorImage,
		"imagePullPolicy": "IfNotPresent",
		"command":         toAny([]string{"/loopd", "__install", supervisorDir + "/loopd"}),
		"volumeMounts":    []any{map[string]any{"name": supervisorVolume, "mountPath": supervisorDir}},
	}
	spec["initContainers"] = appendNamed(spec["initContainers"], initC)
	return nil
}

// appendNamed appends item to the list v, replacing an entry of the same
// name (rendering twice gives the same object).
func appendNamed(v any, item map[string]any) []any {
	list, _ := v.([]any)
	list = slices.DeleteFunc(slices.Clone(list), func(e any) bool {
		m, _ := e.(map[string]any)
		return m != nil && m["name"] == item["name"]
	})
	return append(list, item)
}

func containerNames(cs []map[string]any) []string {
	var names []string
	for _, c := range cs {
		if n, ok := c["name"].(string); ok {
			names = append(names, n)
		}
	}
	return names
}

// stringList is a YAML list of strings, nil when absent.
func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
