package loopfile

// k8s_resource() and the kube plugin's completion step, which turns the
// objects k8s_yaml() added into KindKube resources once the whole
// Loopfile has run:
//
//   - every workload object (manifest.IsWorkload, or a k8s_kind()) is one
//     resource, named after the object in lower case; when two workloads
//     share a name, each is "name:kind" (lower case, as Tilt names them),
//     and "name:kind:namespace" when that is still not unique.
//     k8s_resource(name=) renames it.
//   - its objects are the workload, the objects k8s_resource(objects=)
//     groups with it and every Service whose selector matches its pod
//     labels (a Service several workloads match goes with the first one
//     declared); they are applied in manifest.ApplyRank order (namespaces,
//     CRDs, accounts and RBAC, config and storage, Services, other
//     objects, then the workload), in declaration order within a rank.
//   - every other object goes into one resource, "uncategorized"
//     (Workload.Kind ""), which every workload resource depends on.
//   - Workload.Images are the image() declarations whose name the
//     workload's containers, initContainers or k8s_kind() image paths
//     refer to (imageMatches).

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/kube/manifest"
	"github.com/loopdev/loop/internal/model"
)

// uncategorized names the resource of the objects no workload claims.
const uncategorized = "uncategorized"

// k8sResourceCall is one k8s_resource(): what it configures, read when
// called, applied at completion.
type k8sResourceCall struct {
	workload string // as written: "name", "Kind/name" or "Kind/namespace/name"
	name     string // "" = the default name
	objects  []string
	r        *model.Resource // the settings; Name, Kind and Workload's object fields are filled in later
	w        *model.Workload
	pos      model.Position
}

var k8sResourceBuiltin = &builtin{
	Name: "k8s_resource", Returns: "None", fn: builtinK8sResource,
	Doc: "Configures the resource made from a workload of `k8s_yaml()`: its name, port forwards, live update (the same `sync()`, `run()` and `restart()` as `container()`), readiness and dependencies, and which other objects are applied with it. The workload may be added after this call.",
	Params: []Param{
		{"workload", "", "the workload: `\"name\"`, `\"Kind/name\"` or `\"Kind/namespace/name\"` (or its resource name, e.g. `\"api:deployment\"`)"},
		{"name", `""`, "rename the resource; `\"\"`: the workload's name"},
		{"port_forwards", "[]", "`8080` (same port) or `\"8080:80\"` (local:pod): forwarded from 127.0.0.1 to the workload's pod, following it across rollouts"},
		pSync, pOnChange,
		{"rebuild_on", "[]", "changes here rebuild the images and roll the workload out again"},
		{"container", `""`, "the container live update applies to; `\"\"`: the first"},
		{"workdir", `""`, "absolute directory `run()` steps run in; `\"\"`: the container's"},
		pReadiness, pResDeps, pLabels, pLinks,
		{"objects", "[]", "other objects applied with this workload: `\"Kind/name\"` or `\"Kind/namespace/name\"`"},
		pTrigger, pAutoStart,
	},
}

// k8s_resource(workload, ...) configures a workload's resource.
func builtinK8sResource(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	c := &k8sResourceCall{
		workload: a.str("workload", ""),
		name:     a.str("name", ""),
		objects:  a.strList("objects"),
		r: &model.Resource{
			ResourceDeps: a.strList("resource_deps"),
			Readiness:    a.probe("readiness"),
			Links:        a.links("links"),
			Labels:       a.strList("labels"),
			Trigger:      a.trigger(),
			AutoStart:    a.boolean("auto_start", true),
		},
		w: &model.Workload{
			PortForwards: a.portForwards("port_forwards"),
			Sync:         a.syncs("sync"),
			OnChange:     a.steps("on_change"),
			RebuildOn:    a.paths(s, "rebuild_on"),
			Container:    a.str("container", ""),
			Workdir:      a.containerPath("workdir"),
		},
	}
	if a.err == nil && c.workload == "" {
		a.fail("workload", `name the workload, e.g. "api" or "Deployment/api"`, "empty name")
	}
	if a.err == nil && c.name != "" && !namePattern.MatchString(c.name) {
		a.fail("name", "use letters, digits, '.', '_' and '-', starting with a letter or digit", "invalid resource name %q", c.name)
	}
	for _, o := range c.objects {
		if a.err == nil && strings.Count(o, "/") != 1 && strings.Count(o, "/") != 2 {
			a.fail("objects", `use "Kind/name" or "Kind/namespace/name", e.g. "ConfigMap/api-config"`, "invalid object %q", o)
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	c.w.LiveUpdate = len(c.w.Sync) > 0 || len(c.w.OnChange) > 0
	c.pos = callerPos(thread)
	st := pluginState[kubeState](s)
	for _, prev := range st.resources {
		if prev.workload == c.workload {
			return nil, a.errorAt("workload", "give all its settings in one k8s_resource()",
				"k8s_resource: workload %q is already configured at %s", c.workload, s.relPos(prev.pos))
		}
	}
	st.resources = append(st.resources, c)
	return starlark.None, nil
}

// portForwards reads a list of port forwards: 8080 or "8080:80".
func (a *args) portForwards(name string) []model.PortForward {
	seq := a.list(name, `list of ports (8080) or "LOCAL:REMOTE" strings`)
	if seq == nil {
		return nil
	}
	const hint = `use 8080 (the same port on both sides) or "8080:80" (local:pod)`
	var out []model.PortForward
	for i := range seq.Len() {
		var pf model.PortForward
		switch x := seq.Index(i).(type) {
		case starlark.Int:
			if err := starlark.AsInt(x, &pf.Local); err != nil {
				pf.Local = -1
			}
			pf.Remote = pf.Local
		case starlark.String:
			l, r, ok := strings.Cut(string(x), ":")
			if !ok {
				r = l
			}
			var err1, err2 error
			pf.Local, err1 = strconv.Atoi(l)
			pf.Remote, err2 = strconv.Atoi(r)
			if err1 != nil || err2 != nil {
				a.fail(name, hint, "element %d: invalid port forward %q", i, string(x))
				return nil
			}
		default:
			a.fail(name, hint, "element %d: got %s, want int or string", i, x.Type())
			return nil
		}
		if pf.Local < 1 || pf.Local > 65535 || pf.Remote < 1 || pf.Remote > 65535 {
			a.fail(name, hint, "element %d: port out of range 1-65535", i)
			return nil
		}
		if j := slices.IndexFunc(out, func(p model.PortForward) bool { return p.Local == pf.Local }); j >= 0 {
			a.fail(name, "forward each local port once", "element %d: local port %d already forwarded (element %d)", i, pf.Local, j)
			return nil
		}
		out = append(out, pf)
	}
	return out
}

// kubeGroup is one KindKube resource being assembled.
type kubeGroup struct {
	name     string
	workload *kubeObject // nil for uncategorized
	objects  []*kubeObject
	call     *k8sResourceCall
}

// completeKube makes the KindKube resources (see the top of this file).
func (s *evalState) completeKube() error {
	st := pluginState[kubeState](s)
	if len(st.objects) == 0 && len(st.resources) == 0 {
		return nil
	}
	if s.project.Cluster == nil {
		s.project.Cluster = &model.Cluster{}
	}
	var groups []*kubeGroup
	for _, o := range st.objects {
		if st.isWorkload(o.obj) {
			groups = append(groups, &kubeGroup{workload: o, objects: []*kubeObject{o}})
		}
	}
	nameGroups(groups)
	claimed := map[*kubeObject]*kubeGroup{}
	for _, g := range groups {
		claimed[g.workload] = g
	}
	for _, c := range st.resources {
		g, err := st.findWorkload(c, groups)
		if err != nil {
			return err
		}
		if g.call != nil {
			return posError(c.pos, "give all its settings in one k8s_resource()",
				"k8s_resource: %s is already configured at %s", g.workload.obj.ID(), s.relPos(g.call.pos))
		}
		g.call = c
		if c.name != "" {
			g.name = c.name
		}
		for _, id := range c.objects {
			o, err := st.findObject(c, id)
			if err != nil {
				return err
			}
			if other := claimed[o]; other != nil {
				return posError(c.pos, "an object is applied by one resource only",
					"k8s_resource: objects: %s already belongs to resource %q", o.obj.ID(), other.name)
			}
			claimed[o] = g
			g.objects = append(g.objects, o)
		}
	}
	for _, o := range st.objects {
		if claimed[o] != nil || o.obj.Kind != "Service" {
			continue
		}
		for _, g := range groups {
			if manifest.Selects(o.obj, g.workload.obj) {
				claimed[o] = g
				g.objects = append(g.objects, o)
				break
			}
		}
	}
	var rest *kubeGroup
	for _, o := range st.objects {
		if claimed[o] == nil {
			if rest == nil {
				rest = &kubeGroup{name: uncategorized}
			}
			rest.objects = append(rest.objects, o)
		}
	}
	if rest != nil {
		groups = append([]*kubeGroup{rest}, groups...)
	}
	forwarded := map[int]string{}
	for _, g := range groups {
		r, err := s.kubeResource(st, g, rest != nil)
		if err != nil {
			return err
		}
		for _, pf := range r.Workload.PortForwards {
			if other, ok := forwarded[pf.Local]; ok {
				return posError(r.Pos, "forward each local port from one resource", "k8s_resource: local port %d is forwarded by %q and %q", pf.Local, other, r.Name)
			}
			forwarded[pf.Local] = r.Name
		}
		if prev := s.project.Resource(r.Name); prev != nil {
			return posError(r.Pos, "rename one of them (k8s_resource(name=...) for the workload)",
				"k8s: resource name %q of %s is taken by the resource declared at %s", r.Name, g.what(), s.relPos(prev.Pos))
		}
		s.project.Resources = append(s.project.Resources, r)
	}
	return nil
}

func (g *kubeGroup) what() string {
	if g.workload == nil {
		return "the objects no workload claims"
	}
	return describe(g.workload.obj)
}

// nameGroups names each workload's resource: its name in lower case, or
// "name:kind" (then "name:kind:namespace") when that is not unique.
func nameGroups(groups []*kubeGroup) {
	names := []func(o *model.KubeObject) string{
		func(o *model.KubeObject) string { return o.Name },
		func(o *model.KubeObject) string { return o.Name + ":" + o.Kind },
		func(o *model.KubeObject) string { return o.Name + ":" + o.Kind + ":" + o.Namespace },
	}
	for _, g := range groups {
		g.name = strings.ToLower(names[0](g.workload.obj))
	}
	for _, f := range names[1:] {
		count := map[string]int{}
		for _, g := range groups {
			count[g.name]++
		}
		for _, g := range groups {
			if count[g.name] > 1 {
				g.name = strings.ToLower(f(g.workload.obj))
			}
		}
	}
}

// findWorkload returns the group of the workload c names.
func (st *kubeState) findWorkload(c *k8sResourceCall, groups []*kubeGroup) (*kubeGroup, error) {
	var found []*kubeGroup
	for _, g := range groups {
		o := g.workload.obj
		if c.workload == o.Name || c.workload == g.name || strings.EqualFold(c.workload, o.Kind+"/"+o.Name) || strings.EqualFold(c.workload, o.ID()) {
			found = append(found, g)
		}
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.workload.obj.ID())
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		var amb []string
		for _, g := range found {
			amb = append(amb, g.workload.obj.ID())
		}
		return nil, posError(c.pos, "name it as Kind/name or Kind/namespace/name",
			"k8s_resource: workload %q is ambiguous: %s", c.workload, strings.Join(amb, ", "))
	}
	for _, o := range st.objects {
		if c.workload == o.obj.Name || strings.EqualFold(c.workload, o.obj.Kind+"/"+o.obj.Name) || strings.EqualFold(c.workload, o.obj.ID()) {
			return nil, posError(c.pos, "group it with a workload with k8s_resource(WORKLOAD, objects=[...]), or make its kind a workload with k8s_kind()",
				"k8s_resource: %s is not a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod or a k8s_kind())", describe(o.obj))
		}
	}
	hint := "no workloads: add them with k8s_yaml()"
	if len(ids) > 0 {
		hint = "workloads: " + strings.Join(ids, ", ")
		if n := nearest(c.workload, ids); n != "" {
			hint = "did you mean " + n + "? " + hint
		}
	}
	return nil, posError(c.pos, hint, "k8s_resource: unknown workload %q", c.workload)
}

// findObject returns the object "Kind/name" or "Kind/namespace/name" of
// objects=.
func (st *kubeState) findObject(c *k8sResourceCall, id string) (*kubeObject, error) {
	var ids []string
	for _, o := range st.objects {
		if strings.EqualFold(id, o.obj.ID()) || strings.EqualFold(id, o.obj.Kind+"/"+o.obj.Name) {
			if st.isWorkload(o.obj) {
				return nil, posError(c.pos, "a workload is a resource of its own; use resource_deps to order them",
					"k8s_resource: objects: %s is a workload", o.obj.ID())
			}
			return o, nil
		}
		ids = append(ids, o.obj.ID())
	}
	hint := "objects: " + strings.Join(ids, ", ")
	if n := nearest(id, ids); n != "" {
		hint = "did you mean " + n + "? " + hint
	}
	return nil, posError(c.pos, hint, "k8s_resource: objects: unknown object %q", id)
}

// kubeResource assembles g's resource.
func (s *evalState) kubeResource(st *kubeState, g *kubeGroup, hasRest bool) (*model.Resource, error) {
	r := &model.Resource{Trigger: model.TriggerAuto, AutoStart: true}
	w := &model.Workload{}
	if g.call != nil {
		rc, wc := *g.call.r, *g.call.w
		r, w = &rc, &wc
		r.Pos = g.call.pos
	} else {
		r.Pos = g.objects[0].pos
	}
	r.Name, r.Kind, r.Dir = g.name, model.KindKube, s.project.Dir
	r.StopSignal, r.StopTimeout = defaultStopSignal, defaultStopTimeout
	for _, o := range g.objects {
		w.Objects = append(w.Objects, o.obj)
	}
	manifest.SortForApply(w.Objects)
	if g.workload != nil {
		o := g.workload.obj
		w.Kind, w.Name = o.Kind, o.Name
		if k := st.kindOf(o); k != nil {
			w.ImagePaths = slices.Clone(k.imagePaths)
		}
		w.Images = s.workloadImages(manifest.Images(o, w.ImagePaths...))
		if w.Container != "" && manifest.IsWorkload(o.Kind) {
			if names := manifest.ContainerNames(o); !slices.Contains(names, w.Container) {
				return nil, posError(r.Pos, "containers: "+strings.Join(names, ", "),
					"k8s_resource: %s has no container %q", o.ID(), w.Container)
			}
		}
		if hasRest && !slices.Contains(r.ResourceDeps, uncategorized) {
			r.ResourceDeps = append([]string{uncategorized}, r.ResourceDeps...)
		}
		for _, pf := range w.PortForwards {
			r.Ports = append(r.Ports, pf.Local)
		}
		r.Deps = liveUpdateDeps(w.Images, w.Sync, w.RebuildOn, w.OnChange)
	}
	normalize(r)
	w.Images, w.PortForwards, w.Sync = nilIfEmpty(w.Images), nilIfEmpty(w.PortForwards), nilIfEmpty(w.Sync)
	w.OnChange, w.RebuildOn = nilIfEmpty(w.OnChange), nilIfEmpty(w.RebuildOn)
	r.Workload = w
	return r, nil
}

// workloadImages returns the image() declarations, in declaration order,
// that one of refs refers to (imageMatches).
func (s *evalState) workloadImages(refs []string) []*model.Image {
	var out []*model.Image
	for _, img := range s.project.Images {
		if slices.ContainsFunc(refs, func(ref string) bool { return imageMatches(img.Name, ref) }) {
			out = append(out, img)
		}
	}
	return out
}

// imageMatches reports whether the image reference ref in a manifest
// names the image() called name. Tags and digests do not count (loop
// replaces them with its build). The repositories match when they are the
// same after normalization ("api" is "docker.io/library/api"), or when
// name is one path element and the last element of ref's repository
// ("api" matches "registry.example.com/team/api:1.2").
func imageMatches(name, ref string) bool {
	repo := func(s string) string {
		n, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			return ""
		}
		return reference.FamiliarName(n)
	}
	want, got := repo(name), repo(ref)
	if want == "" || got == "" {
		return false
	}
	return want == got || (!strings.Contains(want, "/") && path.Base(got) == want)
}
