package supervise

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/loopdev/loop/internal/gobuild"
)

// How a supervisor was found, in the order Find tries.
const (
	FromOverride = "LOOP_SUPERVISOR"     // the runtime's setting or $LOOP_SUPERVISOR
	FromSelf     = "the running loopd"   // the running loopd, when it is static
	FromSibling  = "next to loopd"       // loop-supervisor beside the loopd binary
	FromCache    = "built earlier"       // an on-demand build, cached under LOOP_HOME
	FromBuild    = "built on demand"     // just built with the local Go toolchain
	programName  = "loop-supervisor"     // cmd/loop-supervisor's binary
	programPkg   = "cmd/loop-supervisor" // its package, relative to the module root
)

// ReleasePath is where a release archive puts the static Linux loopd for
// arch, relative to the directory of loop and loopd (scripts/release), so
// that an installed loopd on any OS finds a supervisor for its engine.
func ReleasePath(arch string) string {
	return filepath.Join("supervisor", "linux-"+arch, "loopd")
}

// Lookup says which supervisor to find: for which loopd, which engine
// and where loop keeps its copies.
type Lookup struct {
	Home     string // LOOP_HOME: copies live in <Home>/bin, builds in <Home>/supervisor
	Override string // a runtime's setting; "" reads $LOOP_SUPERVISOR
	Arch     string // the engine's GOARCH; "" is this host's
	Exe      string // the loopd it is for; "" is the running executable
	Go       string // the go command for on-demand builds; "" looks up "go" in PATH, "-" never builds
}

// Found is the supervisor Find chose.
type Found struct {
	Path   string        // the host file to mount at /.loop/loopd
	Sum    string        // a hash of its content
	From   string        // how it was found: one of the From constants
	Origin string        // the file or directory it came from
	Arch   string        // its GOARCH
	Static bool          // always true for a Found: Find refuses the others
	Took   time.Duration // how long an on-demand build took
}

// NotFoundError lists every place Find looked and why each failed.
type NotFoundError struct {
	Arch  string
	Tried []Attempt
	Err   error // the override's error, when one was set
}

// Attempt is one place Find looked.
type Attempt struct{ Where, Why string }

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no container supervisor for linux/%s (a static loop-supervisor or loopd):", e.Arch)
	for _, a := range e.Tried {
		fmt.Fprintf(&b, "\n  %s: %s", a.Where, a.Why)
	}
	fmt.Fprintf(&b, "\nfix one of: put Go in loopd's PATH so loop can build it; install one next to loopd (CGO_ENABLED=0 GOOS=linux GOARCH=%s go install github.com/loopdev/loop/cmd/loop-supervisor@VERSION); or set LOOP_SUPERVISOR to a static loop-supervisor for linux/%s (see docs/containers.md#the-supervisor)", e.Arch, e.Arch)
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// found memoises Find by Lookup (and $LOOP_SUPERVISOR), so a loopd reads
// and hashes binaries once; mu also makes concurrent starts share one build.
var (
	mu    sync.Mutex
	found = map[Lookup]Found{}
)

// Find returns the static Linux binary for l.Arch that container runtimes
// mount as PID 1 at /.loop/loopd. In order, the first that works:
//
//  1. l.Override or $LOOP_SUPERVISOR, when set (and only it: a setting
//     that does not work is an error, not a fallback);
//  2. the loopd itself, when it is static and of the engine's arch;
//  3. next to loopd: supervisor/linux-<arch>/loopd (a release archive's
//     layout, ReleasePath), loop-supervisor-linux-<arch> or loop-supervisor;
//  4. a binary built earlier for this loopd's version and arch, under
//     <Home>/supervisor;
//  5. cmd/loop-supervisor built now with CGO_ENABLED=0 from loopd's own
//     module (its source directory, or the module cache for a released
//     version) and kept there.
//
// Steps 2 and 3 return a content-addressed copy under <Home>/bin, so that
// replacing loopd never changes a binary a container has mounted. Every
// candidate's ELF header is checked (Linux, static, arch). When none works
// the error is a *NotFoundError naming each place and what to do.
func Find(ctx context.Context, l Lookup) (Found, error) {
	if l.Override == "" {
		l.Override = os.Getenv("LOOP_SUPERVISOR")
	}
	if l.Arch == "" {
		l.Arch = goruntime.GOARCH
	}
	mu.Lock()
	defer mu.Unlock()
	if f, ok := found[l]; ok {
		if _, err := os.Stat(f.Path); err == nil {
			return f, nil
		}
	}
	f, err := find(ctx, l)
	if err != nil {
		return Found{}, err
	}
	f.Static = true
	found[l] = f
	return f, nil
}

func find(ctx context.Context, l Lookup) (Found, error) {
	nf := &NotFoundError{Arch: l.Arch}
	if l.Override != "" {
		p, err := filepath.Abs(l.Override)
		if err == nil {
			_, err = Check(p, l.Arch)
		}
		if err != nil {
			nf.Tried = append(nf.Tried, Attempt{FromOverride + " " + l.Override, err.Error()})
			nf.Err = err
			return Found{}, nf
		}
		sum, err := gobuild.SumFile(p)
		if err != nil {
			return Found{}, fmt.Errorf("supervisor %s: %w", p, err)
		}
		return Found{Path: p, Sum: sum, From: FromOverride, Origin: p, Arch: l.Arch}, nil
	}
	nf.Tried = append(nf.Tried, Attempt{FromOverride, "not set"})

	exe, read := l.Exe, l.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return Found{}, fmt.Errorf("supervisor: %w", err)
		}
		// /proc/self/exe still reads after the file was deleted (a `go
		// run` binary, an upgrade in place); os.Executable's path would not.
		read = exe
		if goruntime.GOOS == "linux" {
			read = "/proc/self/exe"
		}
	}
	if _, err := Check(read, l.Arch); err != nil {
		nf.Tried = append(nf.Tried, Attempt{FromSelf + " " + exe, reason(err)})
	} else {
		return l.copy(read, exe, FromSelf)
	}

	dirs := gobuild.BesideDirs(exe)
	for _, d := range dirs {
		for _, name := range []string{ReleasePath(l.Arch), programName + "-linux-" + l.Arch, programName} {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err != nil {
				if name == programName {
					nf.Tried = append(nf.Tried, Attempt{FromSibling + " " + p, "not there"})
				}
				continue
			}
			if _, err := Check(p, l.Arch); err != nil {
				nf.Tried = append(nf.Tried, Attempt{FromSibling + " " + p, reason(err)})
				continue
			}
			return l.copy(p, p, FromSibling)
		}
	}

	if l.Home == "" {
		nf.Tried = append(nf.Tried, Attempt{FromBuild, "no LOOP_HOME to keep a build in"})
		return Found{}, nf
	}
	key, err := gobuild.Key(read)
	if err != nil {
		nf.Tried = append(nf.Tried, Attempt{FromBuild, err.Error()})
		return Found{}, nf
	}
	cached := filepath.Join(l.Home, "supervisor", key, programName+"-linux-"+l.Arch)
	if _, err := Check(cached, l.Arch); err == nil {
		sum, err := gobuild.SumFile(cached)
		if err != nil {
			return Found{}, fmt.Errorf("supervisor %s: %w", cached, err)
		}
		return Found{Path: cached, Sum: sum, From: FromCache, Origin: cached, Arch: l.Arch}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		nf.Tried = append(nf.Tried, Attempt{FromCache + " " + cached, reason(err)})
	}
	start := time.Now()
	src, err := l.build(ctx, read, cached)
	if err != nil {
		nf.Tried = append(nf.Tried, Attempt{FromBuild, err.Error()})
		return Found{}, nf
	}
	sum, err := gobuild.SumFile(cached)
	if err != nil {
		return Found{}, fmt.Errorf("supervisor %s: %w", cached, err)
	}
	return Found{Path: cached, Sum: sum, From: FromBuild, Origin: src, Arch: l.Arch, Took: time.Since(start)}, nil
}

// reason is err without the path Check puts first (the attempt names it).
func reason(err error) string {
	for _, e := range []error{ErrDynamic, ErrArch, ErrNotLinux} {
		if errors.Is(err, e) {
			s := err.Error()
			if i := strings.Index(s, e.Error()); i >= 0 {
				return s[i:]
			}
		}
	}
	return err.Error()
}

// copy returns a content-addressed copy of src (named origin) under
// <Home>/bin.
func (l Lookup) copy(src, origin, from string) (Found, error) {
	if l.Home == "" {
		return Found{}, fmt.Errorf("supervisor: no LOOP_HOME to copy %s to; set LOOP_SUPERVISOR to a static loop-supervisor", origin)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return Found{}, fmt.Errorf("supervisor: read %s: %w", origin, err)
	}
	sum := hashOf(b)
	dst := filepath.Join(l.Home, "bin", "loopd-"+sum)
	f := Found{Path: dst, Sum: sum, From: from, Origin: origin, Arch: l.Arch}
	if _, err := os.Stat(dst); err == nil {
		return f, nil
	}
	if err := writeFile(dst, b); err != nil {
		return Found{}, fmt.Errorf("supervisor: copy %s to %s: %w", origin, dst, err)
	}
	return f, nil
}

// writeFile writes an executable atomically (temp file and rename), so a
// reader never sees half of it.
func writeFile(dst string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o755), os.Rename(tmp.Name(), dst)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:16]
}
