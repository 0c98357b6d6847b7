// Package compose loads Docker Compose files for the two places loop reads
// them: compose() in a Loopfile and a Compose-based devcontainer.json. It
// merges the files with compose-spec/compose-go as `docker compose -f a -f b`
// does (Load), finds the file and line a compose-go error points at
// (Locate), and maps a service's build onto a model.Image (Image). Mapping
// services onto resources, and the error types that point at the Loopfile
// or devcontainer.json, stay with each caller.
package compose

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/loopdev/loop/internal/model"
)

// Options says how to load.
type Options struct {
	Name     string   // the project name, normalized by Load
	Env      []string // "K=V": ${VAR} values (with the .env file's)
	Profiles []string // profiles to enable
	// EnvFiles replace the .env file next to the first Compose file.
	EnvFiles []string
}

// Load merges files (absolute; the first one's directory is the project
// directory) with paths resolved, as `docker compose` reads them.
func Load(ctx context.Context, files []string, o Options) (*types.Project, error) {
	po, err := cli.NewProjectOptions(files,
		cli.WithName(loader.NormalizeProjectName(o.Name)),
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithEnv(o.Env),
		cli.WithResolvedPaths(true),
		cli.WithProfiles(o.Profiles),
		cli.WithEnvFiles(o.EnvFiles...), // none: the .env file in the project directory, if any
		cli.WithDotEnv,
	)
	if err != nil {
		return nil, err
	}
	return po.LoadProject(ctx)
}

// yamlLine finds the position in a compose-go YAML error.
var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// Locate reads a compose-go error: msg is its text without the "failed to
// parse FILE: " prefix, file is the one of files that prefix names ("" when
// none), and line and col the last position the text names (the problem's;
// col is at least 1 when there is a line, line 0 when there is none).
func Locate(err error, files []string) (msg, file string, line, col int) {
	msg = err.Error()
	for _, f := range files {
		if rest, ok := strings.CutPrefix(msg, "failed to parse "+f+": "); ok {
			msg, file = rest, f
			break
		}
	}
	if m := yamlLine.FindAllStringSubmatch(msg, -1); m != nil {
		line, _ = strconv.Atoi(m[len(m)-1][1])
		col, _ = strconv.Atoi(m[len(m)-1][2])
		col = max(col, 1)
	}
	return msg, file, line, col
}

// ErrDockerfileInline refuses a build with dockerfile_inline.
var ErrDockerfileInline = errors.New("build.dockerfile_inline is not supported")

// Image is the image a service's build makes: its context, Dockerfile
// (default "Dockerfile", relative to the context), target and the build
// args that have a value. The caller names it.
func Image(b *types.BuildConfig) (*model.Image, error) {
	if b.DockerfileInline != "" {
		return nil, ErrDockerfileInline
	}
	img := &model.Image{Context: b.Context, Dockerfile: b.Dockerfile, Target: b.Target}
	if img.Dockerfile == "" {
		img.Dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(img.Dockerfile) {
		img.Dockerfile = filepath.Join(b.Context, img.Dockerfile)
	}
	for k, v := range b.Args {
		if v != nil {
			if img.BuildArgs == nil {
				img.BuildArgs = map[string]string{}
			}
			img.BuildArgs[k] = *v
		}
	}
	return img, nil
}
