package daemon

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/model"
)

func TestSelection(t *testing.T) {
	m := &model.Project{Resources: []*model.Resource{
		{Name: "db", Labels: []string{"database", "backend"}},
		{Name: "api", Labels: []string{"backend"}},
		{Name: "web", Labels: []string{"frontend"}},
		{Name: "docs"},
	}}
	for _, tc := range []struct {
		name    string
		sel     api.Selector
		want    string
		wantErr error
		errHas  string
	}{
		{name: "empty", want: ""},
		{name: "one label", sel: api.Selector{Labels: []string{"backend"}}, want: "db,api"},
		{name: "any of the labels", sel: api.Selector{Labels: []string{"frontend", "database"}}, want: "db,web"},
		{name: "names and labels, Loopfile order, once", sel: api.Selector{Resources: []string{"docs", "api"}, Labels: []string{"backend"}}, want: "db,api,docs"},
		{name: "unknown label", sel: api.Selector{Labels: []string{"backend", "fronted"}}, wantErr: errUnknownLabel,
			errHas: `"fronted": no resource of project p has it (its labels: backend, database, frontend;`},
		{name: "empty label", sel: api.Selector{Labels: []string{""}}, wantErr: errBadSelector, errHas: "an empty label"},
		{name: "unknown name", sel: api.Selector{Resources: []string{"nope"}}, wantErr: engine.ErrUnknownResource,
			errHas: "its resources: db, api, web, docs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selection(m, "p", tc.sel)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v; want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, ","); g != tc.want {
				t.Errorf("selection = %s, want %s", g, tc.want)
			}
		})
	}
	_, err := selection(&model.Project{Resources: []*model.Resource{{Name: "a"}}}, "p", api.Selector{Labels: []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), "give them labels=[...] in the Loopfile") {
		t.Errorf("a project without labels: err = %v; want one saying how to add labels", err)
	}
}

// Labels through loopd: up -l starts only the labelled resources (and
// their dependencies), an unknown label starts nothing, actions and
// snapshots select by label.
func TestDaemon_Labels(t *testing.T) {
	c := startDaemon(t)
	ctx := context.Background()
	lf := writeLoopfile(t, `
service("db", cmd="exec sleep 1000", labels=["backend"])
service("api", cmd="exec sleep 1000", resource_deps=["db"], labels=["backend"])
service("web", cmd="exec sleep 1000", resource_deps=["api"], labels=["frontend"])
service("tool", cmd="exec sleep 1000")
`)
	_, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ(), Labels: []string{"nope"}})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound || !strings.Contains(se.Message, "backend, frontend") {
		t.Fatalf("up -l nope = %v; want a 404 listing the labels", err)
	}
	if ps, _ := c.Projects(ctx); len(ps) != 0 {
		t.Fatalf("up with an unknown label registered a project: %+v", ps)
	}

	p, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ(), Labels: []string{"frontend"}})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, c, p.Name)
	states := func() map[string]string {
		t.Helper()
		snap, err := c.Project(ctx, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range snap.Resources {
			m[r.Name] = r.State
		}
		return m
	}
	if got := states(); got["web"] != api.StateReady || got["db"] != api.StateReady || got["tool"] != api.StateDisabled {
		t.Fatalf("after up -l frontend: %v; want web and what it depends on ready, tool not selected", got)
	}

	got, err := c.Selected(ctx, p.Name, api.Selector{Labels: []string{"backend"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got.Resources {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"db", "api"}) {
		t.Errorf("status -l backend: %v; want db, api", names)
	}
	if _, err := c.Selected(ctx, p.Name, api.Selector{Labels: []string{"nope"}}); !api.IsNotFound(err) {
		t.Errorf("status -l nope: err %v; want 404", err)
	}

	reply, err := c.Act(ctx, p.Name, api.ActionStop, api.Selector{Labels: []string{"frontend"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reply.Resources, []string{"web"}) {
		t.Errorf("stop -l frontend acted on %v; want web", reply.Resources)
	}
	wait(t, c, p.Name)
	if got := states(); got["web"] != api.StateStopped || got["api"] != api.StateReady {
		t.Fatalf("after stop -l frontend: %v; want web stopped, the rest as it was", got)
	}
	if _, err := c.Act(ctx, p.Name, api.ActionTrigger, api.Selector{Labels: []string{"frontend"}}); err == nil || !strings.Contains(err.Error(), "loop up") {
		t.Errorf("trigger of a stopped resource: err %v; want one saying how to start it", err)
	}
	if _, err := c.Act(ctx, p.Name, api.ActionEnable, api.Selector{Labels: []string{"frontend"}}); err != nil {
		t.Fatal(err)
	}
	wait(t, c, p.Name)
	if got := states(); got["web"] != api.StateReady {
		t.Fatalf("after enable -l frontend: %v; want web ready", got)
	}

	for _, tc := range []struct {
		action string
		sel    api.Selector
		code   int
	}{
		{"trigger", api.Selector{}, http.StatusBadRequest},
		{"explode", api.Selector{Labels: []string{"frontend"}}, http.StatusNotFound},
		{"disable", api.Selector{Resources: []string{"nope"}}, http.StatusNotFound},
	} {
		_, err := c.Act(ctx, p.Name, tc.action, tc.sel)
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Errorf("%s %+v: err %v; want %d", tc.action, tc.sel, err, tc.code)
		}
	}
}

func wait(t *testing.T, c *api.Client, name string) {
	t.Helper()
	res, err := c.Wait(context.Background(), name, 30*time.Second)
	if err != nil || res.Outcome != api.OutcomeReady {
		t.Fatalf("wait: %v %+v", err, res)
	}
}
