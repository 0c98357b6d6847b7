package supervise

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
)

// ErrDynamic says why a cgo build of loopd cannot be the supervisor.
var ErrDynamic = errors.New("loopd is dynamically linked (built with cgo) and cannot run inside containers: build it with CGO_ENABLED=0 (see docs/supervisor.md) or set LOOP_SUPERVISOR to a static loopd")

// Binary returns the host path of the static loopd that container runtimes
// mount at /.loop/loopd, and a hash of its content: override (a runtime's
// setting), else $LOOP_SUPERVISOR, else a content-addressed copy of the
// running executable under <home>/bin — a copy, so that rebuilding loopd
// never changes a binary a container has mounted. A dynamically linked
// binary is refused with ErrDynamic.
func Binary(home, override string) (path, sum string, err error) {
	p := override
	if p == "" {
		p = os.Getenv("LOOP_SUPERVISOR")
	}
	if p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", "", fmt.Errorf("supervisor %s: %w", p, err)
		}
		if err := CheckStatic(abs); err != nil {
			return "", "", err
		}
		b, err := os.ReadFile(abs)
		if err != nil {
			return "", "", fmt.Errorf("supervisor: %w", err)
		}
		return abs, hashOf(b), nil
	}
	// /proc/self/exe still reads after the file was deleted (a `go run`
	// binary, an upgrade in place); os.Executable's path would not.
	self := "/proc/self/exe"
	if goruntime.GOOS != "linux" {
		if self, err = os.Executable(); err != nil {
			return "", "", fmt.Errorf("supervisor: %w", err)
		}
	}
	if err := CheckStatic(self); err != nil {
		return "", "", err
	}
	if home == "" {
		return "", "", errors.New("supervisor: no LOOP_HOME to copy loopd to; set LOOP_SUPERVISOR to a static loopd")
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return "", "", fmt.Errorf("supervisor: read %s: %w", self, err)
	}
	sum = hashOf(b)
	dst := filepath.Join(home, "bin", "loopd-"+sum)
	if _, err := os.Stat(dst); err == nil {
		return dst, sum, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", "", fmt.Errorf("supervisor: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".loopd-*")
	if err != nil {
		return "", "", fmt.Errorf("supervisor: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o755), os.Rename(tmp.Name(), dst)); err != nil {
		os.Remove(tmp.Name())
		return "", "", fmt.Errorf("supervisor: copy loopd to %s: %w", dst, err)
	}
	return dst, sum, nil
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:16]
}

// CheckStatic fails for a dynamically linked (or non-ELF) binary.
func CheckStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("supervisor %s: %w; set LOOP_SUPERVISOR to a static loopd", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("supervisor %s: %w", p, ErrDynamic)
		}
	}
	if f.Section(".interp") != nil {
		return fmt.Errorf("supervisor %s: %w", p, ErrDynamic)
	}
	return nil
}
