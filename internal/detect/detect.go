// Package detect looks at an existing repository and reports what `loop
// init` needs to write a starting Loopfile: the applications it holds
// (language, framework, how to run and test each), its Dockerfiles, its
// Compose file and its devcontainer.json.
//
// Detection reads marker files only (go.mod, package.json, pyproject.toml,
// requirements.txt, Cargo.toml) in the root and in its direct
// subdirectories; it never runs anything.
package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Language of a detected application.
type Language string

const (
	Go     Language = "go"
	Node   Language = "node"
	Python Language = "python"
	Rust   Language = "rust"
)

// App is one application found in the repository.
type App struct {
	Dir       string   // relative to the root, "." for the root itself
	Language  Language //
	Framework string   // "next", "express", "vite" or ""
	Cmd       string   // how to run it in development (sh -c)
	Test      string   // how to test it ("" = unknown)
	Port      int      // the framework's default port (0 = unknown)
}

// Repo is what Detect found.
type Repo struct {
	Apps         []App
	Dockerfiles  []string // relative paths
	Compose      string   // relative path of the Compose file, or ""
	Devcontainer string   // relative path of the devcontainer.json, or ""
}

// composeNames are the Compose file names, in Compose's lookup order.
var composeNames = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

// Detect inspects root and its direct subdirectories.
func Detect(root string) (*Repo, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("detect: %s is not a directory", root)
	}
	r := &Repo{}
	for _, n := range composeNames {
		if isFile(filepath.Join(root, n)) {
			r.Compose = n
			break
		}
	}
	for _, n := range []string{".devcontainer/devcontainer.json", ".devcontainer.json"} {
		if isFile(filepath.Join(root, n)) {
			r.Devcontainer = n
			break
		}
	}
	dirs := []string{"."}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() && !strings.HasPrefix(n, ".") && !slices.Contains(skipDirs, n) {
			dirs = append(dirs, n)
		}
	}
	for _, d := range dirs {
		abs := filepath.Join(root, d)
		for _, n := range []string{"Dockerfile", "Containerfile"} {
			if isFile(filepath.Join(abs, n)) {
				r.Dockerfiles = append(r.Dockerfiles, filepath.ToSlash(filepath.Join(d, n)))
			}
		}
		app, ok, err := detectApp(abs)
		if err != nil {
			return nil, fmt.Errorf("detect %s: %w", d, err)
		}
		if ok {
			app.Dir = d
			r.Apps = append(r.Apps, app)
		}
	}
	return r, nil
}

// skipDirs are never applications of their own.
var skipDirs = []string{"node_modules", "vendor", "target", "dist", "build", "testdata", "venv", "__pycache__"}

func detectApp(dir string) (App, bool, error) {
	switch {
	case isFile(filepath.Join(dir, "go.mod")):
		return goApp(dir), true, nil
	case isFile(filepath.Join(dir, "package.json")):
		app, err := nodeApp(dir)
		return app, err == nil, err
	case isFile(filepath.Join(dir, "Cargo.toml")):
		return App{Language: Rust, Cmd: "cargo run", Test: "cargo test"}, true, nil
	case isFile(filepath.Join(dir, "pyproject.toml")) || isFile(filepath.Join(dir, "requirements.txt")):
		return pythonApp(dir), true, nil
	}
	return App{}, false, nil
}

func goApp(dir string) App {
	app := App{Language: Go, Cmd: "go run .", Test: "go test ./..."}
	if isFile(filepath.Join(dir, "main.go")) {
		return app
	}
	// No main package at the root: the first cmd/NAME.
	if cmds, err := os.ReadDir(filepath.Join(dir, "cmd")); err == nil {
		for _, c := range cmds {
			if c.IsDir() {
				app.Cmd = "go run ./cmd/" + c.Name()
				break
			}
		}
	}
	return app
}

func nodeApp(dir string) (App, error) {
	app := App{Language: Node}
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return app, err
	}
	var pkg struct {
		Main            string            `json:"main"`
		Scripts         map[string]string `json:"scripts"`
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return app, fmt.Errorf("package.json: %w", err)
	}
	has := func(dep string) bool {
		_, a := pkg.Dependencies[dep]
		_, b := pkg.DevDependencies[dep]
		return a || b
	}
	switch {
	case has("next"):
		app.Framework, app.Port = "next", 3000
	case has("vite"):
		app.Framework, app.Port = "vite", 5173
	case has("express"):
		app.Framework, app.Port = "express", 3000
	}
	switch {
	case pkg.Scripts["dev"] != "":
		app.Cmd = "npm run dev"
	case pkg.Scripts["start"] != "":
		app.Cmd = "npm start"
	case pkg.Main != "":
		app.Cmd = "node " + pkg.Main
	default:
		app.Cmd = "node index.js"
	}
	if t := pkg.Scripts["test"]; t != "" && !strings.Contains(t, "no test specified") {
		app.Test = "npm test"
	}
	return app, nil
}

func pythonApp(dir string) App {
	app := App{Language: Python, Test: "python3 -m pytest"}
	switch {
	case isFile(filepath.Join(dir, "manage.py")):
		app.Cmd = "python3 manage.py runserver"
		app.Framework, app.Port = "django", 8000
	case isFile(filepath.Join(dir, "app.py")):
		app.Cmd = "python3 app.py"
	case isFile(filepath.Join(dir, "main.py")):
		app.Cmd = "python3 main.py"
	default:
		mod := strings.ReplaceAll(filepath.Base(dir), "-", "_")
		app.Cmd = "python3 -m " + mod
	}
	return app
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err == nil && !fi.IsDir()
}
