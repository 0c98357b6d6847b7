package docker

import (
	"context"
	"io"

	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/model"
)

// BuildImage builds img through cli (the same .dockerignore-aware context
// and content-addressed tag as the runtime's own builds) and returns the
// tag; `loop ship` builds production images with it.
func BuildImage(ctx context.Context, cli *client.Client, project string, img *model.Image, out io.Writer) (tag string, err error) {
	return (&Runtime{}).buildImage(ctx, cli, project, img, out)
}
