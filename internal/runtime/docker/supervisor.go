package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// supervisorPath is where the supervisor is mounted in every container.
const supervisorPath = "/.loop/loopd"

// errDynamic says why a cgo build of loopd cannot be the supervisor.
var errDynamic = errors.New("loopd is dynamically linked (built with cgo) and cannot run inside containers: build it with CGO_ENABLED=0 (see docs/supervisor.md) or set LOOP_SUPERVISOR to a static loopd")

// supervisor returns the host path of the static loopd to mount: the
// Supervisor field, $LOOP_SUPERVISOR, or a content-addressed copy of the
// running executable under <Home>/bin (a copy, so that rebuilding loopd
// never changes a binary a container has mounted).
func (r *Runtime) supervisor() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.super != "" {
		return r.super, nil
	}
	p := r.Supervisor
	if p == "" {
		p = os.Getenv("LOOP_SUPERVISOR")
	}
	if p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("supervisor %s: %w", p, err)
		}
		if err := checkStatic(abs); err != nil {
			return "", err
		}
		b, err := os.ReadFile(abs)
		if err != nil {
			return "", fmt.Errorf("supervisor: %w", err)
		}
		sum := sha256.Sum256(b)
		r.super, r.superSum = abs, hex.EncodeToString(sum[:])[:16]
		return abs, nil
	}
	// /proc/self/exe still reads after the file was deleted (a `go run`
	// binary, an upgrade in place); os.Executable's path would not.
	self := "/proc/self/exe"
	if goruntime.GOOS != "linux" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("supervisor: %w", err)
		}
		self = exe
	}
	if err := checkStatic(self); err != nil {
		return "", err
	}
	if r.Home == "" {
		return "", errors.New("supervisor: no LOOP_HOME to copy loopd to; set LOOP_SUPERVISOR to a static loopd")
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return "", fmt.Errorf("supervisor: read %s: %w", self, err)
	}
	sum := sha256.Sum256(b)
	dst := filepath.Join(r.Home, "bin", "loopd-"+hex.EncodeToString(sum[:])[:16])
	if _, err := os.Stat(dst); err != nil {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("supervisor: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".loopd-*")
		if err != nil {
			return "", fmt.Errorf("supervisor: %w", err)
		}
		_, werr := tmp.Write(b)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o755), os.Rename(tmp.Name(), dst)); err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("supervisor: copy loopd to %s: %w", dst, err)
		}
	}
	r.super, r.superSum = dst, hex.EncodeToString(sum[:])[:16]
	return dst, nil
}

// copySupervisor copies the supervisor into a created container, for
// engines that cannot bind-mount a path of this host (a remote DOCKER_HOST).
func (h *handle) copySupervisor(ctx context.Context, super string) error {
	f, err := os.Open(super)
	if err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		dir := strings.TrimPrefix(path.Dir(supervisorPath), "/") + "/"
		err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: fi.ModTime()})
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(supervisorPath, "/"), Mode: 0o755, Size: fi.Size(), ModTime: fi.ModTime()})
		}
		if err == nil {
			_, err = io.CopyN(tw, f, fi.Size())
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	if err := h.cli.CopyToContainer(ctx, h.id, "/", pr, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy supervisor: %w", err)
	}
	return nil
}

// checkStatic fails for a dynamically linked (or non-ELF) binary.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("supervisor %s: %w; set LOOP_SUPERVISOR to a static loopd", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("supervisor %s: %w", p, errDynamic)
		}
	}
	if f.Section(".interp") != nil {
		return fmt.Errorf("supervisor %s: %w", p, errDynamic)
	}
	return nil
}
