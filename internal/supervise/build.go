package supervise

import (
	"context"
	"time"

	"github.com/loopdev/loop/internal/gobuild"
)

// buildTimeout bounds an on-demand build (a cold build cache on a busy
// machine takes tens of seconds).
const buildTimeout = 5 * time.Minute

// build compiles cmd/loop-supervisor for linux/l.Arch with CGO_ENABLED=0
// from the module exe was built from (gobuild.Build), into dst, checked
// static and of l.Arch, and returns the source directory it used.
func (l Lookup) build(ctx context.Context, exe, dst string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + l.Arch}
	return gobuild.Build(ctx, l.Go, exe, programPkg, dst, env, func(p string) error {
		_, err := Check(p, l.Arch)
		return err
	})
}
