package loopfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

func TestLoad_routes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Loopfile")
	src := `route("web", "web:3000")
route("API.localhost", to = "api:8080", path = "/v1", timeout = "5s")
route("slow", "api:8080", timeout = 90)
route("dflt", "api:8080", timeout = None)
service("api", "x")
service("web", "x")
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Route{
		{Host: "web", Path: "/", Resource: "web", Port: 3000},
		{Host: "api", Path: "/v1", Resource: "api", Port: 8080, Timeout: 5 * time.Second},
		{Host: "slow", Path: "/", Resource: "api", Port: 8080, Timeout: 90 * time.Second},
		{Host: "dflt", Path: "/", Resource: "api", Port: 8080},
	}
	if len(p.Routes) != len(want) {
		t.Fatalf("got %d routes, want %d", len(p.Routes), len(want))
	}
	for i, w := range want {
		got := *p.Routes[i]
		got.Pos = model.Position{}
		if got != w {
			t.Errorf("route %d: got %+v, want %+v", i, got, w)
		}
	}
	if p.Routes[1].Pos.Line != 2 {
		t.Errorf("got line %d, want 2", p.Routes[1].Pos.Line)
	}
}
