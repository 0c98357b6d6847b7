package loopfile

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestDatabase_errors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`database("db", engine="oracle")`, "engine"},
		{`database("db", seed="missing.sql")`, "seed file"},
		{`database("db", port=70000)`, "out of range"},
		{"service(\"db\", \"true\")\ndatabase(\"db\")", "duplicate resource name"},
	}
	for _, tt := range tests {
		_, _, err := fixture(t, map[string]string{"Loopfile": tt.src}, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.src, err, tt.want)
		}
	}
}

// Evaluation records what database() declares and nothing it would have
// to make: no password, no state directory, no URL in a dependant's env
// (package database prepares those when loopd starts the project).
func TestDatabase_declared(t *testing.T) {
	p, _ := mustLoad(t, map[string]string{
		"Loopfile": `database("db", version="16", port=6001, user="me", db="app")
database("cache", engine="redis", runtime="container")
task("check", "true", resource_deps=["db", "cache"])
`,
	})
	if len(p.Databases) != 2 {
		t.Fatalf("databases: got %d, want 2", len(p.Databases))
	}
	db := p.Databases[0]
	want := model.Database{Name: "db", Pos: db.Pos, Engine: "postgres", Version: "16", Runtime: "process", Port: 6001, User: "me", DB: "app"}
	if *db != want {
		t.Errorf("db: got %+v, want %+v", *db, want)
	}
	cache := p.Databases[1]
	if cache.Runtime != "container" || cache.ContainerPort != 6379 || cache.Password != "" || cache.URL != "" || cache.Dir != "" {
		t.Errorf("cache: got %+v, want the declared settings only", *cache)
	}
	r := p.Resource("db")
	if r == nil || r.Kind != model.KindService || r.Cmd != nil || !slices.Equal(r.Ports, []int{6001}) || !slices.Contains(r.Labels, "database") {
		t.Errorf("db resource: got %+v, want a service on port 6001 without a command yet", r)
	}
	if env := p.Resource("check").Env; len(env) != 0 {
		t.Errorf("dependant env: got %v, want none before preparation", env)
	}
	for _, name := range []string{"db", "cache"} {
		if pos := p.Resource(name).Pos; filepath.Base(pos.File) != "Loopfile" || pos.Line != map[string]int{"db": 1, "cache": 2}[name] || pos.Col != 1 {
			t.Errorf("%s resource position = %v, want its database() call in the Loopfile", name, pos)
		}
	}
	if env := p.Resource("cache").Env; env["REDISCLI_AUTH"] != "" {
		t.Errorf("cache env: got %v, want no password", env)
	}
}
