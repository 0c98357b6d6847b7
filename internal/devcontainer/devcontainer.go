// Package devcontainer reads devcontainer.json (JSONC) into loop's model:
// the image to build or use, the container to run, its lifecycle commands,
// with the spec's variable substitution and local Features.
package devcontainer

import (
	"context"
	"errors"

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
}

// Error is a devcontainer.json problem with its location.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Hint string
}

func (e *Error) Error() string { return e.File + ": " + e.Msg }

// Load reads and resolves a devcontainer.json.
func Load(ctx context.Context, opts Options) (*Result, error) {
	return nil, errors.New("devcontainer: not implemented yet")
}
