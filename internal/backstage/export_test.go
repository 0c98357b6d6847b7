package backstage_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/backstage"
	"github.com/loopdev/loop/internal/backstage/backstagetest"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.yaml golden files")

// source is where every golden project pretends to live.
var source = backstage.Source{InRepo: true, URL: "https://github.com/org/mono", Ref: "main", Path: "services"}

// load evaluates testdata/NAME/Loopfile, a real Loopfile.
func load(t *testing.T, name string) *model.Project {
	t.Helper()
	lf, err := filepath.Abs(filepath.Join("testdata", name, "Loopfile"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loopfile.Load(context.Background(), lf, loopfile.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", lf, err)
	}
	return p
}

// TestExport_golden maps each testdata project and compares the YAML with
// testdata/GOLDEN.yaml (go test -update rewrites them); every output must
// also be valid Backstage entities whose references resolve.
func TestExport_golden(t *testing.T) {
	for _, tc := range []struct {
		golden, project string
		all, toDir      bool
		warnings        []string
	}{
		{golden: "shop", project: "shop", warnings: []string{
			`Loopfile:2:1: the project "shop": tag "Card Payments" written as "card-payments" (Backstage tags are lowercase letters and digits separated by -)`,
			`Loopfile:2:1: the project "shop": tag "card_payments" dropped: it is "card-payments", already a tag`,
			`Loopfile:2:1: the project "shop": tag "!!" dropped: a Backstage tag needs a letter or digit`,
		}},
		{golden: "shop-all", project: "shop", all: true},
		{golden: "shop-dir", project: "shop", toDir: true},
		{golden: "fleet", project: "fleet"},
		{golden: "tools", project: "tools"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			p := load(t, tc.project)
			o := backstage.Options{All: tc.all, Source: source}
			if tc.toDir {
				o.Dir = p.Dir
			}
			res, err := backstage.Export(p, o)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := backstage.Write(&buf, res.Entities); err != nil {
				t.Fatal(err)
			}
			backstagetest.Check(t, buf.Bytes())
			if tc.warnings != nil && strings.Join(res.Warnings, "\n") != strings.Join(tc.warnings, "\n") {
				t.Errorf("warnings:\n got %q\nwant %q", res.Warnings, tc.warnings)
			}
			golden := filepath.Join("testdata", tc.golden+".yaml")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestExport_deterministic: the same project gives the same bytes.
func TestExport_deterministic(t *testing.T) {
	var first string
	for i := range 5 {
		res, err := backstage.Export(load(t, "shop"), backstage.Options{All: true, Source: source})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := backstage.Write(&buf, res.Entities); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = buf.String()
		} else if buf.String() != first {
			t.Fatalf("export %d differs from the first:\n%s\n---\n%s", i, buf.String(), first)
		}
	}
}

// TestExport_errors: what cannot be exported says where, what and what to
// add, for every problem at once.
func TestExport_errors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		project string // a testdata project, or "" for loopfile
		files   map[string]string
		all     bool
		want    []string // substrings of the error
	}{
		{
			name: "no owner", project: "teamless",
			want: []string{
				`Loopfile:1:1: the project "teamless" has no owner, which Backstage requires (spec.owner) (hint: add team = "TEAM" (a Backstage group) or owner = "NAME" (a user, or "group:NAME") to this catalog() call)`,
				`Loopfile:2:1: service "api" has no owner`, `or to the project's catalog() to own every service`,
			},
		},
		{
			name: "no owner, --all", project: "teamless", all: true,
			want: []string{`Loopfile:4:1: service "worker" has no owner`, `to a catalog("worker", ...) call`},
		},
		{
			name:  "nothing to export",
			files: map[string]string{"Loopfile": `service("api", cmd = "x")`},
			want:  []string{`Loopfile: nothing to export: the Loopfile has no catalog()`, `--all also exports services`},
		},
		{
			name: "nothing to export, --all", all: true,
			files: map[string]string{"Loopfile": `task("t", cmd = "x")`},
			want:  []string{`nothing to export: the Loopfile has no catalog() and no service`},
		},
		{
			name:  "bad owner reference",
			files: map[string]string{"Loopfile": "\ncatalog(owner = \"component:x\")"},
			want:  []string{`Loopfile:2:1: the project "p": catalog(owner=): "component:x": an owner is a group or a user, not a component`},
		},
		{
			name:  "inherited bad owner points at the project's catalog()",
			files: map[string]string{"Loopfile": "service(\"api\", cmd = \"x\")\ncatalog(team = \"group:Bad_NS/x\")\ncatalog(\"api\")"},
			want:  []string{`Loopfile:2:1: service "api": catalog(team=): "group:Bad_NS/x": namespace "Bad_NS" is not a DNS label`},
		},
		{
			name:  "name clash",
			files: map[string]string{"Loopfile": "catalog(team = \"t\")\nservice(\"a\", cmd = \"x\")\nservice(\"a.\", cmd = \"x\")\ncatalog(\"a\")\ncatalog(\"a.\")"},
			want:  []string{`Loopfile:5:1: service "a." and service "a" would both be the Backstage component "p-a" (declared at Loopfile:4:1)`},
		},
		{
			name: "broken api_spec",
			files: map[string]string{
				"Loopfile":     "catalog(team = \"t\", api_spec = \"openapi.yaml\")",
				"openapi.yaml": "openapi: 3.0.0\ninfo: [\n",
			},
			want: []string{`Loopfile:1:1: the project "p": catalog(api_spec=): `, `openapi.yaml:`, `fix it, or leave api_spec out`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *model.Project
			if tc.project != "" {
				p = load(t, tc.project)
			} else {
				dir := filepath.Join(t.TempDir(), "p")
				for name, src := range tc.files {
					if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if p, err = loopfile.Load(context.Background(), filepath.Join(dir, "Loopfile"), loopfile.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := backstage.Export(p, backstage.Options{All: tc.all})
			if err == nil {
				t.Fatalf("Export = %d entities, want an error", len(res.Entities))
			}
			var be *backstage.Error
			if !errors.As(err, &be) {
				t.Errorf("error %T is not a *backstage.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}
