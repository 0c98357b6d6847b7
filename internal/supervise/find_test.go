package supervise

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/gobuild"
)

// tiny builds a small program into dir: static (CGO_ENABLED=0), dynamic
// (CGO_ENABLED=1 and it imports net, so it links libc) or for goarch.
func tiny(t *testing.T, dir, name string, cgo bool, goarch string) string {
	t.Helper()
	src := t.TempDir()
	prog := "package main\n\nfunc main() {}\n"
	if cgo {
		prog = "package main\n\nimport \"net\"\n\nvar _ = net.Dial\n\nfunc main() {}\n"
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	env := "CGO_ENABLED=0"
	if cgo {
		env = "CGO_ENABLED=1"
	}
	cmd.Env = append(os.Environ(), env, "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		if cgo {
			if _, err := exec.LookPath("cc"); err != nil {
				t.Skipf("no C compiler (cc) to build a dynamically linked binary: %v", err)
			}
		}
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

// binaries are the tiny programs the tests share, built once.
type binaries struct{ static, dynamic, arm64 string }

func build(t *testing.T) binaries {
	t.Helper()
	if goruntime.GOOS != "linux" || goruntime.GOARCH != "amd64" {
		t.Skip("the ELF fixtures are built for linux/amd64 hosts")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the fixtures")
	}
	dir := t.TempDir()
	b := binaries{
		static:  tiny(t, dir, "static", false, "amd64"),
		dynamic: tiny(t, dir, "dynamic", true, "amd64"),
		arm64:   tiny(t, dir, "arm64", false, "arm64"),
	}
	if bin, _ := Inspect(b.dynamic); bin.Static {
		t.Fatalf("%s: built with cgo and net, yet static", b.dynamic)
	}
	return b
}

func TestInspect(t *testing.T) {
	b := build(t)
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, arch string
		want       Binary
		err        error
	}{
		{b.static, "amd64", Binary{Arch: "amd64", Static: true}, nil},
		{b.dynamic, "amd64", Binary{Arch: "amd64"}, ErrDynamic},
		{b.arm64, "amd64", Binary{Arch: "arm64", Static: true}, ErrArch},
		{b.arm64, "arm64", Binary{Arch: "arm64", Static: true}, nil},
		{script, "amd64", Binary{}, ErrNotLinux},
	} {
		got, err := Check(tc.path, tc.arch)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Check(%s, %s) = %+v, %v; want %+v, %v", filepath.Base(tc.path), tc.arch, got, err, tc.want, tc.err)
		}
	}
	if _, err := Check(filepath.Join(t.TempDir(), "missing"), "amd64"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check(missing) = %v, want ErrNotExist", err)
	}
}

// install copies src to dir/name.
func install(t *testing.T, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// errNone stands for a *NotFoundError that wraps no other error.
var errNone = errors.New("no supervisor")

// TestFind_order: each place wins when those before it do not work, and
// the error names every place when none does.
func TestFind_order(t *testing.T) {
	b := build(t)
	t.Setenv("LOOP_SUPERVISOR", "")
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		override string // "static", "dynamic"
		exe      string // "static", "dynamic"
		arch     string
		siblings map[string]string // name -> fixture
		cached   string            // fixture in the build cache
		from     string
		origin   string // the sibling Find must pick, relative to loopd's directory
		err      error
	}{
		{name: "override", override: "static", exe: "static", from: FromOverride},
		{name: "override that does not work is an error", override: "dynamic", exe: "static", err: ErrDynamic},
		{name: "static loopd", exe: "static", siblings: map[string]string{"loop-supervisor": "static"}, from: FromSelf},
		{name: "dynamic loopd, static sibling", exe: "dynamic", siblings: map[string]string{"loop-supervisor": "static"}, from: FromSibling},
		{name: "arch sibling first", exe: "static", arch: "arm64",
			siblings: map[string]string{"loop-supervisor": "static", "loop-supervisor-linux-arm64": "arm64"}, from: FromSibling},
		{name: "release layout first", exe: "dynamic", arch: "arm64",
			siblings: map[string]string{"loop-supervisor-linux-arm64": "static", ReleasePath("arm64"): "arm64"}, from: FromSibling, origin: ReleasePath("arm64")},
		{name: "release layout of another arch is skipped", exe: "dynamic",
			siblings: map[string]string{ReleasePath("arm64"): "arm64", "loop-supervisor": "static"}, from: FromSibling, origin: "loop-supervisor"},
		{name: "dynamic sibling, cached build", exe: "dynamic", siblings: map[string]string{"loop-supervisor": "dynamic"}, cached: "static", from: FromCache},
		{name: "nothing works", exe: "dynamic", siblings: map[string]string{"loop-supervisor": "dynamic"}, err: errNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixture := map[string]string{"static": b.static, "dynamic": b.dynamic, "arm64": b.arm64}
			home, bindir := t.TempDir(), t.TempDir()
			exe := install(t, fixture[tc.exe], bindir, "loopd")
			for name, fx := range tc.siblings {
				install(t, fixture[fx], bindir, name)
			}
			arch := tc.arch
			if arch == "" {
				arch = "amd64"
			}
			if tc.cached != "" {
				key, err := gobuild.Key(exe)
				if err != nil {
					t.Fatal(err)
				}
				install(t, fixture[tc.cached], filepath.Join(home, "supervisor", key), "loop-supervisor-linux-"+arch)
			}
			l := Lookup{Home: home, Exe: exe, Arch: arch, Go: "-"}
			if tc.override != "" {
				l.Override = fixture[tc.override]
			}
			f, err := Find(ctx, l)
			if tc.err != nil {
				var nf *NotFoundError
				if !errors.As(err, &nf) || (tc.err != errNone && !errors.Is(err, tc.err)) {
					t.Fatalf("Find = %+v, %v; want %v", f, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.From != tc.from || !f.Static || f.Arch != arch {
				t.Errorf("Find = %+v, want from %q, static, %s", f, tc.from, arch)
			}
			if got, err := Check(f.Path, arch); err != nil || !got.Static {
				t.Errorf("Find's %s: %v", f.Path, err)
			}
			if tc.origin != "" && f.Origin != filepath.Join(bindir, tc.origin) {
				t.Errorf("Find took %s, want %s", f.Origin, filepath.Join(bindir, tc.origin))
			}
			if (tc.from == FromSelf || tc.from == FromSibling) && filepath.Dir(f.Path) != filepath.Join(home, "bin") {
				t.Errorf("Find = %s, want a copy under %s", f.Path, filepath.Join(home, "bin"))
			}
		})
	}
}

// TestFind_notFound: the error names each place looked and what to do.
func TestFind_notFound(t *testing.T) {
	b := build(t)
	t.Setenv("LOOP_SUPERVISOR", "")
	bindir := t.TempDir()
	exe := install(t, b.dynamic, bindir, "loopd")
	_, err := Find(context.Background(), Lookup{Home: t.TempDir(), Exe: exe, Go: "-"})
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Find: %v, want a *NotFoundError", err)
	}
	for _, want := range []string{"LOOP_SUPERVISOR: not set", FromSelf + " " + exe + ": dynamically linked",
		"next to loopd " + filepath.Join(bindir, "loop-supervisor") + ": not there", "built on demand: on-demand builds are off",
		"go install github.com/loopdev/loop/cmd/loop-supervisor@VERSION"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	t.Setenv("LOOP_SUPERVISOR", b.arm64)
	if _, err := Find(context.Background(), Lookup{Home: t.TempDir(), Exe: exe}); !errors.Is(err, ErrArch) || !strings.Contains(err.Error(), "LOOP_SUPERVISOR "+b.arm64) {
		t.Errorf("Find with an arm64 LOOP_SUPERVISOR on amd64: %v, want ErrArch naming it", err)
	}
}

// goBuild builds pkg of this module with CGO_ENABLED=1, as a default
// `go install` on a machine with a C compiler does.
func goBuild(t *testing.T, pkg string) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skipf("no C compiler (cc): a default build has cgo off here: %v", err)
	}
	exe := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", exe, "github.com/loopdev/loop/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return exe
}

// TestSupervisorProgram_static: cmd/loop-supervisor links no libc even
// when cgo is on, so a default `go install .../cmd/...` puts a usable
// supervisor next to loopd.
func TestSupervisorProgram_static(t *testing.T) {
	build(t)
	exe := goBuild(t, programPkg)
	if b, err := Check(exe, goruntime.GOARCH); err != nil || !b.Static {
		t.Errorf("%s built with CGO_ENABLED=1: %+v, %v; want static (a package it imports links libc: see go list -deps)", programPkg, b, err)
	}
}

// TestFind_build: a dynamically linked loopd (a default build) gets a
// supervisor built from this module's source, and the next lookup (the
// memo cleared, as in a new loopd) finds it in the cache.
func TestFind_build(t *testing.T) {
	if testing.Short() {
		t.Skip("builds loopd and cmd/loop-supervisor")
	}
	build(t)
	t.Setenv("LOOP_SUPERVISOR", "")
	exe := goBuild(t, "cmd/loopd")
	if bin, _ := Inspect(exe); bin.Static {
		t.Fatalf("%s built with CGO_ENABLED=1 is static; want dynamic, as a default go install", exe)
	}
	home := t.TempDir()
	l := Lookup{Home: home, Exe: exe}
	f, err := Find(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if f.From != FromBuild || !strings.HasPrefix(f.Path, filepath.Join(home, "supervisor", "devel-")) {
		t.Errorf("Find = %+v, want a build under %s", f, home)
	}
	t.Logf("built in %s", f.Took)
	mu.Lock()
	clear(found)
	mu.Unlock()
	start := time.Now()
	f2, err := Find(context.Background(), l)
	if err != nil || f2.From != FromCache || f2.Path != f.Path || f2.Sum != f.Sum {
		t.Errorf("second Find = %+v, %v; want the cached %s", f2, err, f.Path)
	}
	t.Logf("cached lookup (hashes loopd and the supervisor) in %s", time.Since(start))
	start = time.Now()
	if _, err := Find(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	t.Logf("memoised lookup in %s", time.Since(start))
}
