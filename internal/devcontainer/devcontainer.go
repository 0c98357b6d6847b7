// Package devcontainer reads devcontainer.json (JSONC) into loop's model:
// the image to build or use, the container to run, its lifecycle commands,
// with the spec's variable substitution and local Features.
//
// Load finds the file (spec lookup order), parses it with hujson so that
// comments and trailing commas are accepted and every value keeps its byte
// offset, and turns each property into model fields. Every problem is an
// *Error pointing at the offending value (file:line:col); every property
// loop does not implement becomes a warning, never a silent drop. Local
// Features are applied at build time: Load describes the image that
// installs them (a generated Dockerfile and the Feature folders it copies,
// model.GeneratedContext) and writes nothing; the runtime's build
// assembles that context.
//
// A Compose-based config (dockerComposeFile) is loaded with compose-go; the
// dev container's service supplies the image to run (Features extend it),
// and Result.Compose carries the merged project for the Loopfile to map
// the services, as compose() does.
package devcontainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// Options for Load.
type Options struct {
	ProjectDir string   // absolute: the local workspace folder
	Path       string   // devcontainer.json, relative to ProjectDir; "" = look it up in spec order
	Env        []string // the local environment, for ${localEnv:VAR}
	Name       string   // resource name (images are named after it)
}

// Result is what a devcontainer.json declares.
type Result struct {
	Image     *model.Image     // nil when the config names an image to use as is
	Container *model.Container // Image set to Image.Name or the reference
	Env       map[string]string
	Ports     []int    // forwardPorts/appPort on the host, for readiness and links
	Warnings  []string // unsupported properties, listed (never silently dropped)
	Files     []string // absolute paths read (devcontainer.json, Dockerfile, feature files): watched

	// Images are every image to build, in build order (a `build` base
	// before the Features image that extends it); Image is the last one.
	// Empty when Image is nil.
	Images []*model.Image
	Name   string // the `name` property ("" when absent)
	// Compose is set for a dockerComposeFile config: Container is then the
	// service's dev container settings (image, user, environment,
	// lifecycle, ports, mounts) to lay over its Compose mapping, and
	// Compose.Services are the other services to run.
	Compose *Compose
	ID      string // ${devcontainerId}: stable for a ProjectDir and config file
}

// Error is a devcontainer.json problem with its location.
type Error struct {
	File string // absolute path
	Line int    // 1-based; 0 when the problem has no position (lookup)
	Col  int    // 1-based, in bytes
	Msg  string
	Hint string // what to do next ("" when obvious)
	// Read are the files read before the problem (devcontainer.json,
	// Compose files): the caller watches them so that a fix re-evaluates.
	Read []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Load reads and resolves a devcontainer.json.
func Load(ctx context.Context, opts Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("devcontainer: %w", err)
	}
	if !filepath.IsAbs(opts.ProjectDir) {
		return nil, fmt.Errorf("devcontainer: project dir %q is not absolute", opts.ProjectDir)
	}
	file, err := find(opts.ProjectDir, opts.Path)
	if err != nil {
		return nil, err
	}
	src, err := readFile(file)
	if err != nil {
		return nil, &Error{File: file, Msg: fmt.Sprintf("read: %v", err)}
	}
	p := newParser(file, src, opts)
	p.ctx = ctx
	res, err := p.load()
	var e *Error
	if errors.As(err, &e) && e.Read == nil {
		e.Read = p.res.Files
	}
	return res, err
}

// Lookup order of the spec, relative to the project directory.
var lookupPaths = []string{
	filepath.Join(".devcontainer", "devcontainer.json"),
	".devcontainer.json",
}

// find returns the absolute path of the devcontainer.json to read.
func find(projectDir, path string) (string, error) {
	if path != "" {
		if !filepath.IsAbs(path) {
			path = filepath.Join(projectDir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return "", &Error{File: path, Msg: "devcontainer.json not found", Hint: "check path="}
		}
		return path, nil
	}
	for _, rel := range lookupPaths {
		p := filepath.Join(projectDir, rel)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	subs, _ := filepath.Glob(filepath.Join(projectDir, ".devcontainer", "*", "devcontainer.json"))
	switch len(subs) {
	case 1:
		return subs[0], nil
	case 0:
		looked := append(append([]string(nil), lookupPaths...), filepath.Join(".devcontainer", "<folder>", "devcontainer.json"))
		return "", &Error{
			File: projectDir,
			Msg:  "no devcontainer.json found; looked for " + strings.Join(looked, ", "),
			Hint: "create one, or pass path= to name it",
		}
	default:
		rels := make([]string, len(subs))
		for i, s := range subs {
			rels[i], _ = filepath.Rel(projectDir, s)
			rels[i] = filepath.ToSlash(rels[i])
		}
		return "", &Error{
			File: projectDir,
			Msg:  "several devcontainer.json files found: " + strings.Join(rels, ", "),
			Hint: "pass path= to choose one",
		}
	}
}
