package manifest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/loopdev/loop/internal/model"
)

// HelmOptions are what `helm template` takes that loop passes on.
type HelmOptions struct {
	Name      string            // release name ("" = the chart's name)
	Namespace string            // .Release.Namespace ("" = "default"); objects are not moved into it
	Values    []string          // values files, in order (later ones win)
	Set       map[string]string // like --set: dotted keys to values, applied after Values in key order
}

// Helm renders the chart at chart (a chart directory or a packaged .tgz;
// never a repository) client-side, like `helm template`: no cluster is
// asked (lookup returns nothing, the capabilities are Helm's defaults)
// and nothing is fetched, so dependencies must be in the chart's charts/
// directory. It returns the YAML stream and the absolute paths of every
// file it read (the chart's files, the values files).
//
// The stream holds the CRDs of the chart and its subcharts (crds/, by
// file name), then every rendered template by template name, its
// documents in order. Hooks are kept as plain objects (applied with the
// rest, as Tilt does), except test hooks (helm.sh/hook: test,
// test-success, test-failure), which only `helm test` runs. NOTES.txt
// and partials render nothing.
func Helm(chart string, opts HelmOptions) ([]byte, []string, error) {
	abs, err := filepath.Abs(chart)
	if err != nil {
		return nil, nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("helm %s: %w", chart, err)
	}
	var read []string
	if !fi.IsDir() {
		read = append(read, abs)
	} else if err := regularFiles(abs); err != nil {
		return nil, nil, fmt.Errorf("helm %s: %w", chart, err)
	}
	c, err := loader.Load(abs)
	if err != nil {
		return nil, read, fmt.Errorf("helm %s: %w", chart, err)
	}
	if fi.IsDir() {
		for _, f := range c.Raw {
			read = append(read, filepath.Join(abs, filepath.FromSlash(f.Name)))
		}
		slices.Sort(read)
	}

	vals := map[string]any{}
	for _, vf := range opts.Values {
		vabs, err := filepath.Abs(vf)
		if err != nil {
			return nil, read, err
		}
		read = append(read, vabs)
		data, err := os.ReadFile(vabs)
		if err != nil {
			return nil, read, fmt.Errorf("helm %s: values file: %w", chart, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, read, fmt.Errorf("helm %s: values file %s: %w", chart, vf, err)
		}
		vals = loader.MergeMaps(vals, m)
	}
	for _, k := range sortedKeys(opts.Set) {
		if err := strvals.ParseInto(k+"="+opts.Set[k], vals); err != nil {
			return nil, read, fmt.Errorf("helm %s: set %s: %w", chart, k, err)
		}
	}

	name := opts.Name
	if name == "" {
		name = c.Name()
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		return nil, read, fmt.Errorf("helm %s: dependencies: %w", chart, err)
	}
	rv, err := commonutil.ToRenderValuesWithSchemaValidation(c, vals,
		common.ReleaseOptions{Name: name, Namespace: ns, Revision: 1, IsInstall: true}, nil, schemaRefersOut(c))
	if err != nil {
		return nil, read, fmt.Errorf("helm %s: values: %w", chart, err)
	}
	rendered, err := engine.Render(c, rv)
	if err != nil {
		return nil, read, fmt.Errorf("helm %s: %w", chart, err)
	}
	out, err := helmStream(chart, c, rendered)
	return out, read, err
}

// schemaRefersOut reports whether a values.schema.json of c or its
// subcharts has a URL in it ("$ref": "https://..." or "file://..."): Helm
// would fetch or read it, so such charts are rendered without schema
// validation (Helm validates when it installs them).
func schemaRefersOut(c *chartv2.Chart) bool {
	if bytes.Contains(c.Schema, []byte("://")) {
		return true
	}
	return slices.ContainsFunc(c.Dependencies(), schemaRefersOut)
}

// helmStream orders and filters what the chart rendered.
func helmStream(chart string, c *chartv2.Chart, rendered map[string]string) ([]byte, error) {
	var objs []*model.KubeObject
	src := "helm " + chart
	crds := c.CRDObjects()
	slices.SortStableFunc(crds, func(a, b chartv2.CRD) int { return strings.Compare(a.Filename, b.Filename) })
	for _, crd := range crds {
		o, err := Decode(src+" "+crd.Filename, crd.File.Data)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	for _, name := range sortedKeys(rendered) {
		if path.Base(name) == "NOTES.txt" || strings.TrimSpace(rendered[name]) == "" {
			continue
		}
		o, err := Decode(src+" "+name, []byte(rendered[name]))
		if err != nil {
			return nil, err
		}
		for _, x := range o {
			if !isTestHook(x) {
				objs = append(objs, x)
			}
		}
	}
	return Join(objs), nil
}

// isTestHook reports whether o is a `helm test` hook.
func isTestHook(o *model.KubeObject) bool {
	hook, _ := get(fields(o), []string{"metadata", "annotations", "helm.sh/hook"}).(string)
	for _, h := range strings.Split(hook, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success", "test-failure":
			return true
		}
	}
	return false
}

// regularFiles refuses a chart directory holding a named pipe, device or
// socket: Helm's loader reads every file of the chart, and such a file
// could block it.
func regularFiles(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if t := d.Type(); t&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0 {
			return fmt.Errorf("%s is not a regular file (%s): a chart holds regular files only", p, t)
		}
		return nil
	})
}
