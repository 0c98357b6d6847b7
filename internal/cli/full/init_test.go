package full

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

// writeTree writes files (path -> contents) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInitLoopfile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  map[string]string // resource name -> a word of its command line
		test  string            // the resource labelled "test" ("" = none)
	}{
		{
			name:  "go",
			files: map[string]string{"go.mod": "module example.com/x\n", "main.go": "package main\nfunc main() {}\n"},
			want:  map[string]string{"go": "go run .", "go-test": "go test ./..."},
			test:  "go-test",
		},
		{
			name: "node express",
			files: map[string]string{"package.json": `{"name": "api", "scripts": {"start": "node server.js", "test": "node --test"},
				"dependencies": {"express": "^4.19.0"}}`},
			want: map[string]string{"node": "npm start", "node-test": "npm test"},
			test: "node-test",
		},
		{
			name: "monorepo",
			files: map[string]string{
				"api/go.mod":          "module example.com/api\n",
				"api/cmd/api/x.go":    "package main\n",
				"web/package.json":    `{"scripts": {"dev": "vite"}, "devDependencies": {"vite": "^5"}}`,
				"ml/requirements.txt": "flask\n",
				"ml/app.py":           "print(1)\n",
				"tool/Cargo.toml":     "[package]\nname = \"tool\"\n",
				"api/Dockerfile":      "FROM scratch\n",
			},
			want: map[string]string{
				"api": "go run ./cmd/api", "api-test": "go test ./...",
				"web": "npm run dev",
				"ml":  "python3 app.py", "ml-test": "python3 -m pytest",
				"tool": "cargo run", "tool-test": "cargo test",
			},
		},
		{
			name: "compose",
			files: map[string]string{
				"go.mod": "module example.com/x\n",
				"compose.yaml": `services:
  web:
    image: loop-test/busybox:latest
    command: ["httpd", "-f"]
    develop:
      watch:
        - {action: sync, path: ./static, target: /www}
  cache:
    image: redis:7
`,
			},
			want: map[string]string{"web": "httpd", "cache": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			p, err := initLoopfile(dir, false)
			if err != nil {
				t.Fatalf("initLoopfile: %v", err)
			}
			src, _ := os.ReadFile(p)
			proj, err := loopfile.Load(context.Background(), p, loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
			if err != nil {
				t.Fatalf("the generated Loopfile does not evaluate: %v\n%s", err, src)
			}
			var names []string
			for _, r := range proj.Resources {
				names = append(names, r.Name)
				argv := r.Cmd
				if r.Container != nil {
					argv = r.Container.Cmd
				}
				if w, ok := tt.want[r.Name]; ok && !strings.Contains(strings.Join(argv, " "), w) {
					t.Errorf("%s: got cmd %q, want it to contain %q", r.Name, argv, w)
				}
				if slices.Contains(r.Labels, "test") != (r.Name == tt.test) && tt.test != "" {
					t.Errorf("%s: got labels %v", r.Name, r.Labels)
				}
			}
			if len(names) != len(tt.want) {
				t.Errorf("got resources %v, want %d: %v\n%s", names, len(tt.want), tt.want, src)
			}
			if tt.name == "compose" && proj.Resource("web").Kind != model.KindContainer {
				t.Errorf("got web kind %s, want container", proj.Resource("web").Kind)
			}
		})
	}
}

func TestInitLoopfile_keepsExisting(t *testing.T) {
	dir := writeTree(t, map[string]string{"Loopfile": "# mine\n", "go.mod": "module x\n"})
	_, err := initLoopfile(dir, false)
	var ee *cli.ExitError
	if !errors.As(err, &ee) || ee.Code != cli.ExitUsage || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("got %v, want a usage error naming --force", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Loopfile")); string(b) != "# mine\n" {
		t.Fatalf("Loopfile overwritten: %q", b)
	}
	if _, err := initLoopfile(dir, true); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Loopfile")); !strings.Contains(string(b), `service("go"`) {
		t.Fatalf("--force: got %q", b)
	}
}
