package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/loopdev/loop/internal/model"
)

// composeFixture copies testdata/NAME into a temp dir, adds a Loopfile and
// evaluates it with env.
func composeFixture(t *testing.T, name, loopfile string, env ...string) (*model.Project, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	lf := filepath.Join(dir, "Loopfile")
	if err := os.WriteFile(lf, []byte(loopfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), lf, Options{Env: env})
	return p, dir, err
}

func TestCompose_import(t *testing.T) {
	p, dir, err := composeFixture(t, "compose", "names = compose()\nprint(names)\n", "LOG_LEVEL=debug")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	abs := func(rel string) string { return filepath.Join(dir, rel) }

	if got, want := len(p.Resources), 2; got != want {
		t.Fatalf("got %d resources, want %d", got, want)
	}
	db := p.Resource("db")
	wantDB := &model.Resource{
		Name: "db", Kind: model.KindContainer, Dir: dir,
		Env:         map[string]string{"POSTGRES_DB": "app"},
		Trigger:     model.TriggerAuto,
		AutoStart:   true,
		StopSignal:  "SIGTERM",
		StopTimeout: 10 * time.Second,
		Container: &model.Container{
			Image: "postgres:16",
			Ports: []model.PortMap{{Host: 5432, Container: 5432, Protocol: "tcp"}},
			Volumes: []model.Volume{
				{Source: "db-data", Target: "/var/lib/postgresql/data", Named: true},
				{Source: abs("db/init.sql"), Target: "/docker-entrypoint-initdb.d/init.sql", ReadOnly: true},
			},
		},
	}
	if !db.Equal(wantDB) {
		t.Errorf("db:\n got %+v\n     %+v\nwant %+v\n     %+v", db, db.Container, wantDB, wantDB.Container)
	}

	web := p.Resource("web")
	img := &model.Image{
		Name: "web-image", Context: abs("web"), Dockerfile: abs("web/Dockerfile"),
		Target: "dev", BuildArgs: map[string]string{"GO_VERSION": "1.26"},
	}
	wantWeb := &model.Resource{
		Name: "web", Kind: model.KindContainer, Dir: dir,
		Env: map[string]string{
			"DATABASE_URL": "postgres://app@db:5432/app", // ${DB_NAME:-app}
			"LOG_LEVEL":    "debug",                      // from Options.Env
		},
		Deps:         []string{abs("web")},
		Ignore:       []string{"web/static/*.tmp"},
		ResourceDeps: []string{"db"},
		Trigger:      model.TriggerAuto,
		AutoStart:    true,
		StopSignal:   "SIGTERM",
		StopTimeout:  10 * time.Second,
		// healthcheck: test: ["CMD", "true"]
		Readiness: &model.Probe{Kind: model.ProbeExec, Cmd: []string{"true"}, Period: 500 * time.Millisecond, Timeout: 5 * time.Second},
		Container: &model.Container{
			Image: "web-image",
			Build: img,
			Cmd:   []string{"/bin/sh", "-c", "exec httpd -f -p 8080 -h /app/static"},
			Ports: []model.PortMap{{Host: 8080, Container: 8080, Protocol: "tcp"}},
			Sync: []model.SyncRule{
				{Local: abs("web/static"), Remote: "/app/static"},
				{Local: abs("web/config"), Remote: "/app/config"},
			},
			OnChange:  []model.Step{{Restart: true}},
			RebuildOn: []string{abs("web/go.mod")},
			User:      "1000:1000",
			Workdir:   "/app",
		},
	}
	if !web.Equal(wantWeb) {
		t.Errorf("web:\n got %+v\n     %+v\nwant %+v\n     %+v", web, web.Container, wantWeb, wantWeb.Container)
	}
	if len(p.Images) != 1 || p.Images[0] != web.Container.Build {
		t.Errorf("got Images %v, want the web image declared", p.Images)
	}
	if got, want := web.Pos.Line, 1; got != want {
		t.Errorf("got Pos line %d, want %d", got, want)
	}
	if !slices.Contains(p.Files, abs("docker-compose.yml")) {
		t.Errorf("got Files %v, want the Compose file watched", p.Files)
	}

	wantWarn := []string{
		"compose: service db: key deploy not supported; ignored",
	}
	for _, w := range wantWarn {
		if !slices.ContainsFunc(p.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("got warnings %q, want one containing %q", p.Warnings, w)
		}
	}
	if len(p.Warnings) != len(wantWarn) {
		t.Errorf("got %d warnings %q, want %d", len(p.Warnings), p.Warnings, len(wantWarn))
	}
}

// TestCompose_dotEnv: without env_file=, the .env file next to the Compose
// file interpolates (after the environment of loop up) and is watched.
func TestCompose_dotEnv(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Loopfile":         `compose("app/compose.yaml")` + "\n",
		"app/.env":         "TAG=from-dotenv\nLEVEL=from-dotenv\n",
		"app/compose.yaml": "services:\n  app:\n    image: busybox:${TAG}\n    environment: {LEVEL: \"${LEVEL}\"}\n",
	})
	app := p.Resource("app")
	if got, want := app.Container.Image, "busybox:from-dotenv"; got != want {
		t.Errorf("image: got %q, want %q (TAG from .env)", got, want)
	}
	if env := filepath.Join(dir, "app", ".env"); !slices.Contains(p.Files, env) {
		t.Errorf("Files %v lack %s", p.Files, env)
	}
}

func TestCompose_restartAction(t *testing.T) {
	p, dir, err := composeFixture(t, "compose", `compose("restart.yml")`+"\n")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r := p.Resource("proxy")
	if r == nil {
		t.Fatal("no proxy resource")
	}
	conf := filepath.Join(dir, "proxy.conf")
	if !slices.Contains(r.Deps, conf) {
		t.Errorf("got Deps %v, want %s watched", r.Deps, conf)
	}
	if got, want := r.Container.OnChange, []model.Step{{Restart: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got OnChange %+v, want %+v", got, want)
	}
	if len(r.Container.Sync) != 0 {
		t.Errorf("got Sync %+v, want none", r.Container.Sync)
	}
}

func TestCompose_errors(t *testing.T) {
	tests := []struct {
		name, fixture, loopfile string
		file                    string // the *Error's file, relative to the project
		line                    int
		msg                     string
	}{
		{"yaml", "compose-broken", "compose()\n", "docker-compose.yml", 3, "compose: yaml: "},
		{"missing", "compose-broken", "\ncompose('nope.yml')\n", "Loopfile", 2, "compose: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := composeFixture(t, tt.fixture, tt.loopfile)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.File != filepath.Join(dir, tt.file) || e.Line != tt.line || !strings.HasPrefix(e.Msg, tt.msg) {
				t.Errorf("got %s:%d %q, want %s:%d %q...", e.File, e.Line, e.Msg, tt.file, tt.line, tt.msg)
			}
		})
	}
}

// TestCompose_duplicateName: a Compose service is declared like any
// resource, so its name must be new: the error points at the compose()
// call that brought it in (its path argument) and at the first
// declaration, whichever came first.
func TestCompose_duplicateName(t *testing.T) {
	tests := []struct {
		name, loopfile string
		line, col      int
		msg            string
	}{
		{"service first", "service(\"db\", \"true\")\ncompose()\n", 2, 1,
			`compose: service "db" clashes with the resource declared at Loopfile:1:1`},
		{"compose first", "compose()\nservice(\"db\", \"true\")\n", 2, 9,
			`service: duplicate resource name "db" (first declared at Loopfile:1:1)`},
		{"compose twice", "compose()\ncompose(\"docker-compose.yml\")\n", 2, 9,
			`compose: service "db" clashes with the resource declared at Loopfile:1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := composeFixture(t, "compose", tt.loopfile)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.File != filepath.Join(dir, "Loopfile") || e.Line != tt.line || e.Col != tt.col || e.Msg != tt.msg {
				t.Errorf("got %s:%d:%d %q, want Loopfile:%d:%d %q", e.File, e.Line, e.Col, e.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestComposeHealthcheck(t *testing.T) {
	d := func(s string) *types.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		td := types.Duration(v)
		return &td
	}
	exec := func(period, timeout time.Duration, cmd ...string) *model.Probe {
		return &model.Probe{Kind: model.ProbeExec, Cmd: cmd, Period: period, Timeout: timeout}
	}
	tests := []struct {
		name string
		hc   *types.HealthCheckConfig
		want *model.Probe
		err  string
	}{
		{"none", nil, nil, ""},
		{"NONE", &types.HealthCheckConfig{Test: []string{"NONE"}}, nil, ""},
		{"disabled", &types.HealthCheckConfig{Test: []string{"CMD", "true"}, Disable: true}, nil, ""},
		{"CMD", &types.HealthCheckConfig{Test: []string{"CMD", "pg_isready", "-U", "app"}},
			exec(healthPeriod, healthTimeout, "pg_isready", "-U", "app"), ""},
		{"CMD-SHELL", &types.HealthCheckConfig{Test: []string{"CMD-SHELL", "curl -f localhost || exit 1"}, Timeout: d("2s")},
			exec(healthPeriod, 2*time.Second, "/bin/sh", "-c", "curl -f localhost || exit 1"), ""},
		{"long interval keeps the dev period", &types.HealthCheckConfig{Test: []string{"CMD", "true"}, Interval: d("30s")},
			exec(healthPeriod, healthTimeout, "true"), ""},
		{"short interval", &types.HealthCheckConfig{Test: []string{"CMD", "true"}, Interval: d("100ms")},
			exec(100*time.Millisecond, healthTimeout, "true"), ""},
		{"start_interval wins", &types.HealthCheckConfig{Test: []string{"CMD", "true"}, Interval: d("100ms"), StartInterval: d("2s")},
			exec(2*time.Second, healthTimeout, "true"), ""},
		{"bad form", &types.HealthCheckConfig{Test: []string{"RUN", "x"}}, nil, `want ["CMD", ...]`},
		{"empty command", &types.HealthCheckConfig{Test: []string{"CMD"}}, nil, "has no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := composeHealthcheck(tt.hc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
