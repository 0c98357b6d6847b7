package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	writeFile(t, a, "services:\n  web:\n    image: ${IMG}\n    build: ./web\n  tool:\n    image: tool\n    profiles: [tools]\n")
	writeFile(t, b, "services:\n  web:\n    environment:\n      FROM_DOTENV: ${DOT}\n")
	writeFile(t, filepath.Join(dir, ".env"), "DOT=dotenv\n")

	cp, err := Load(context.Background(), []string{a, b}, Options{Name: "My Project", Env: []string{"IMG=web:dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cp.Name, "myproject"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	web := cp.Services["web"]
	if got, want := web.Image, "web:dev"; got != want {
		t.Errorf("image = %q, want %q (from Env)", got, want)
	}
	if v := web.Environment["FROM_DOTENV"]; v == nil || *v != "dotenv" {
		t.Errorf("FROM_DOTENV = %v, want dotenv (the second file merged, .env read)", v)
	}
	if got, want := web.Build.Context, filepath.Join(dir, "web"); got != want {
		t.Errorf("build context = %q, want %q (resolved)", got, want)
	}
	if _, ok := cp.Services["tool"]; ok {
		t.Errorf("service tool loaded without its profile")
	}

	cp, err = Load(context.Background(), []string{a}, Options{Name: "p", Env: []string{"IMG=x"}, Profiles: []string{"tools"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cp.Services["tool"]; !ok {
		t.Errorf("service tool not loaded with its profile")
	}

	other := filepath.Join(dir, "other.env")
	writeFile(t, other, "DOT=other\n")
	cp, err = Load(context.Background(), []string{a, b}, Options{Name: "p", Env: []string{"IMG=x"}, EnvFiles: []string{other}})
	if err != nil {
		t.Fatal(err)
	}
	if v := cp.Services["web"].Environment["FROM_DOTENV"]; v == nil || *v != "other" {
		t.Errorf("FROM_DOTENV = %v, want other (EnvFiles replace .env)", v)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yml")
	writeFile(t, f, "services:\n  web:\n    image: x\n   bad: indent\n")
	_, err := Load(context.Background(), []string{f}, Options{Name: "p"})
	if err == nil {
		t.Fatal("bad YAML: got nil")
	}
	msg, file, line, col := Locate(err, []string{filepath.Join(dir, "none.yml"), f})
	if file != f || line != 3 || col != 4 { // the last position named: yaml reports line 3, column 4
		t.Errorf("Locate = %q, %q, %d, %d; want %s line 3 column 4", msg, file, line, col, f)
	}
	if msg == err.Error() {
		t.Errorf("msg %q still has the file prefix", msg)
	}

	msg, file, line, col = Locate(errors.New("services.web: something"), []string{f})
	if msg != "services.web: something" || file != "" || line != 0 || col != 0 {
		t.Errorf("no position: Locate = %q, %q, %d, %d", msg, file, line, col)
	}
}

func TestImage(t *testing.T) {
	v := "1"
	for _, tc := range []struct {
		name string
		b    types.BuildConfig
		want string // Dockerfile
		args map[string]string
	}{
		{"default", types.BuildConfig{Context: "/p/web"}, "/p/web/Dockerfile", nil},
		{"relative", types.BuildConfig{Context: "/p/web", Dockerfile: "dev.Dockerfile"}, "/p/web/dev.Dockerfile", nil},
		{"absolute", types.BuildConfig{Context: "/p/web", Dockerfile: "/p/Dockerfile"}, "/p/Dockerfile", nil},
		{"args", types.BuildConfig{Context: "/p", Args: types.MappingWithEquals{"A": &v, "UNSET": nil}}, "/p/Dockerfile", map[string]string{"A": "1"}},
	} {
		img, err := Image(&tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if img.Dockerfile != tc.want || img.Context != tc.b.Context {
			t.Errorf("%s: Dockerfile %q context %q, want %q %q", tc.name, img.Dockerfile, img.Context, tc.want, tc.b.Context)
		}
		if len(img.BuildArgs) != len(tc.args) || (tc.args == nil) != (img.BuildArgs == nil) {
			t.Errorf("%s: BuildArgs = %v, want %v", tc.name, img.BuildArgs, tc.args)
		}
		for k, v := range tc.args {
			if img.BuildArgs[k] != v {
				t.Errorf("%s: BuildArgs[%s] = %q, want %q", tc.name, k, img.BuildArgs[k], v)
			}
		}
	}
	if _, err := Image(&types.BuildConfig{Context: "/p", DockerfileInline: "FROM x"}); !errors.Is(err, ErrDockerfileInline) {
		t.Errorf("inline: err = %v, want ErrDockerfileInline", err)
	}
}
