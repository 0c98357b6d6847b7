package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// TestBuiltin_runtimes evaluates every embedded template's Loopfile with
// LOOP_RUNTIME unset and set to "container": the service is a local process
// in the first, a live-updated container of the Dockerfile's dev stage in
// the second; the tests are a local task in the first and a run-once
// container of the same dev image in the second, so that mode needs only
// Docker. (e2e/templates_test.go runs both for real.)
func TestBuiltin_runtimes(t *testing.T) {
	ts, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range ts {
		t.Run(tmpl.Name, func(t *testing.T) {
			vals, err := tmpl.Resolve(map[string]string{"Name": "demo"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := tmpl.Render(dir, vals, false); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				env  []string
				want model.Kind
			}{
				{nil, model.KindService},
				{[]string{"LOOP_RUNTIME=process"}, model.KindService},
				{[]string{"LOOP_RUNTIME=container"}, model.KindContainer},
			} {
				p, err := loopfile.Load(context.Background(), filepath.Join(dir, "Loopfile"), loopfile.Options{Env: tc.env})
				if err != nil {
					t.Fatalf("Loopfile with %v: %v", tc.env, err)
				}
				byName := map[string]*model.Resource{}
				for _, r := range p.Resources {
					byName[r.Name] = r
				}
				svc, test := byName["demo"], byName["test"]
				if svc == nil || test == nil {
					t.Fatalf("Loopfile with %v: want resources demo and test, got %v", tc.env, byName)
				}
				if svc.Kind != tc.want {
					t.Errorf("Loopfile with %v: demo is a %s, want a %s", tc.env, svc.Kind, tc.want)
				}
				if !test.RunsToCompletion() || !slices.Contains(test.Labels, "test") {
					t.Errorf("Loopfile with %v: test is a %s labelled %v, want it to run to completion, labelled test", tc.env, test.Kind, test.Labels)
				}
				if test.Kind != tc.want && !(tc.want == model.KindService && test.Kind == model.KindTask) {
					t.Errorf("Loopfile with %v: test is a %s, want it where demo runs (%s)", tc.env, test.Kind, tc.want)
				}
				if test.Kind == model.KindContainer && (test.Container.Build == nil || svc.Container.Build == nil || test.Container.Build.Name != svc.Container.Build.Name) {
					t.Errorf("Loopfile with %v: the test container does not run demo's dev image", tc.env)
				}
				if svc.Readiness == nil || !strings.HasSuffix(svc.Readiness.URL, "/healthz") {
					t.Errorf("Loopfile with %v: demo readiness %+v, want an http_probe on /healthz", tc.env, svc.Readiness)
				}
				if svc.Kind == model.KindContainer {
					checkContainer(t, dir, svc.Container)
				}
			}
		})
	}
}

// checkContainer checks the live-update setup of a template's container:
// its image is the Dockerfile's dev stage, every sync rule lands in that
// stage's WORKDIR, the service restarts in place last, and the Dockerfile
// rebuilds the image.
func checkContainer(t *testing.T, dir string, c *model.Container) {
	t.Helper()
	if c.Build == nil || c.Build.Target != "dev" {
		t.Fatalf("container image: got %+v, want an image() of target dev", c.Build)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stage := regexp.MustCompile(`(?s)FROM \S+ AS dev\n(.*?)\n\n`).FindSubmatch(df)
	if stage == nil {
		t.Fatalf("Dockerfile: no dev stage in\n%s", df)
	}
	workdir := regexp.MustCompile(`(?m)^WORKDIR (\S+)$`).FindSubmatch(stage[1])
	if workdir == nil {
		t.Fatalf("Dockerfile: no WORKDIR in the dev stage\n%s", stage[1])
	}
	if len(c.Sync) == 0 {
		t.Errorf("container: no sync rules")
	}
	for _, s := range c.Sync {
		if s.Remote != string(workdir[1]) && !strings.HasPrefix(s.Remote, string(workdir[1])+"/") {
			t.Errorf("sync(%s, %s): outside the dev stage's WORKDIR %s", s.Local, s.Remote, workdir[1])
		}
	}
	if n := len(c.OnChange); n == 0 || !c.OnChange[n-1].Restart {
		t.Errorf("on_change %+v: want restart() last", c.OnChange)
	}
	if !slices.Contains(c.RebuildOn, filepath.Join(dir, "Dockerfile")) {
		t.Errorf("rebuild_on %v: want the Dockerfile", c.RebuildOn)
	}
}
