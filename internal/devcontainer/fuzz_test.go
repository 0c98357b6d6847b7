package devcontainer

import (
	"context"
	"errors"
	"regexp"
	"testing"
)

// FuzzDevcontainer loads arbitrary JSONC as .devcontainer/devcontainer.json
// of a project that also has a Dockerfile, Compose files and local
// Features for it to name. Whatever the text: no panic, every error an
// *Error with a line:col in the file at fault, every warning prefixed
// with file:line:col.
//
// The seed corpus (testdata/fuzz/FuzzDevcontainer) holds the package's
// testdata configs (testdata/*.jsonc, testdata/errors/*.jsonc) and the
// Compose-based configs of compose_test.go.
func FuzzDevcontainer(f *testing.F) {
	files := featureFiles(f)
	files["Dockerfile"] = "FROM debian:12\n"
	files[".devcontainer/Dockerfile"] = "FROM debian:12\n"
	files["docker-compose.yml"] = baseCompose
	files[".devcontainer/docker-compose.extend.yml"] = extendCompose
	files[".devcontainer/compose.yaml"] = "services:\n  app:\n    image: alpine:3\n"
	warning := regexp.MustCompile(`^[^\n]+:\d+:\d+: `)
	f.Fuzz(func(t *testing.T, text string) {
		project := map[string]string{".devcontainer/devcontainer.json": text}
		for k, v := range files {
			project[k] = v
		}
		dir := newProject(t, project)
		res, err := Load(context.Background(), Options{
			ProjectDir: dir, Name: "dev",
			Env: []string{"HOME=/home/dev", "USER=dev"},
		})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("Load: %v (%T), want an *Error with a line:col", err, err)
			}
			return
		}
		for _, w := range res.Warnings {
			if !warning.MatchString(w) {
				t.Errorf("warning %q has no file:line:col", w)
			}
		}
	})
}
