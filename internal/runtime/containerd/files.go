//go:build linux

package containerd

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// secretsDir is where secret(..., file=NAME) files land in a container.
const secretsDir = "/run/secrets"

// secretsMount is the tmpfs a container with file secrets gets at
// /run/secrets: their values live in the task's memory only, never in the
// snapshot or anywhere else on disk, and go with the task. It comes after
// the resource's own mounts, so a volume over /run cannot receive them.
var secretsMount = specs.Mount{
	Destination: secretsDir, Type: "tmpfs", Source: "tmpfs",
	Options: []string{"nosuid", "nodev", "noexec", "mode=755"},
}

// checkFiles validates the paths of spec.Files and reports whether one is
// below /run/secrets (the container then needs secretsMount).
func checkFiles(files map[string]string) (secrets bool, err error) {
	for p := range files {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return false, fmt.Errorf("file %q: want a clean absolute path", p)
		}
		if strings.HasPrefix(p, secretsDir+"/") {
			secrets = true
		}
	}
	return secrets, nil
}

// writeFiles writes spec.Files (file secrets) into the task's root before
// its service starts, or again into an adopted running one: mode 0400,
// owned by the container user. Missing parent directories outside
// /run/secrets are created owned by that user too. Contents never reach a
// log or an error.
func (h *handle) writeFiles(ctx context.Context) error {
	if len(h.spec.Files) == 0 {
		return nil
	}
	uid, gid, err := driver{h}.Owner(ctx)
	if err != nil {
		return fmt.Errorf("write secret files: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, p := range slices.Sorted(maps.Keys(h.spec.Files)) {
		content := h.spec.Files[p]
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: 0o400,
			Size: int64(len(content)), Uid: uid, Gid: gid, ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write secret files: %w", err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return fmt.Errorf("write secret files: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write secret files: %w", err)
	}
	if !h.running() {
		return fmt.Errorf("write secret files: %w", errStopped)
	}
	if err := extract(h.rootfs(), &buf); err != nil {
		return fmt.Errorf("write secret files: %w", err)
	}
	return nil
}
