// Package gobuild builds one of loop's own commands with the local Go
// toolchain, from the module a running loop binary was built from: loopd
// builds the Linux supervisor this way when none was shipped beside it,
// and a `go run` of the thin `loop` builds the loopd it hands its heavy
// commands to. The source is where the binary was compiled (a checkout,
// or the module cache for `go install ...@version`), else the binary's
// released version fetched with `go mod download`.
package gobuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// Key names the builds made for exe: its module version for a released
// build (go install ...@vX), else "devel-<hash of exe>", because a build
// from a source tree says nothing reliable about that tree.
func Key(exe string) (string, error) {
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("read the build info of %s: %w", exe, err)
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && !strings.Contains(v, "+dirty") {
		return strings.NewReplacer("/", "_", "+", "_").Replace(v), nil
	}
	sum, err := SumFile(exe)
	if err != nil {
		return "", err
	}
	return "devel-" + sum, nil
}

// BesideDirs are the directories where the binaries shipped with exe
// are looked for: exe's own, and, when exe is a symlink (Homebrew's bin),
// the directory of the file it points to.
func BesideDirs(exe string) []string {
	dirs := []string{filepath.Dir(exe)}
	if real, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	return dirs
}

// SumFile is the first 16 hex digits of the SHA-256 of the file at p.
func SumFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Build compiles ./pkg ("cmd/loopd") of the module exe was built from
// into dst, built as exe was (its CGO_ENABLED and version stamp), with env
// added to the go command's environment after (GOOS, CGO_ENABLED, ...).
// check, when not nil, vets the result before it is renamed into place,
// so dst is only ever a whole, checked binary. gotool "" looks up go in
// PATH; "-" refuses to build. ctx bounds the build (a cold build cache
// takes minutes). It returns the source directory it used.
func Build(ctx context.Context, gotool, exe, pkg, dst string, env []string, check func(path string) error) (string, error) {
	switch gotool {
	case "-":
		return "", errors.New("on-demand builds are off")
	case "":
		p, err := exec.LookPath("go")
		if err != nil {
			return "", errors.New("no go command in PATH to build one with")
		}
		gotool = p
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("read the build info of %s: %w", exe, err)
	}
	mod := bi.Main.Path
	dir, tried := sourceDir(mod, pkg)
	if dir == "" {
		v := bi.Main.Version
		if v == "" || v == "(devel)" {
			return "", fmt.Errorf("the source of %s (%s, a development build) is not at %s", exe, mod, tried)
		}
		if dir, err = download(ctx, gotool, mod+"@"+v); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.build-%d", dst, os.Getpid())
	// Build as exe was built: its CGO_ENABLED (so the Go build cache
	// holds most of it already) unless env says otherwise, and its version
	// control stamp (-buildvcs), so the build reports exe's version (loop
	// compares it with loopd's).
	vcs, like := "false", []string(nil)
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			vcs = "true"
		case "CGO_ENABLED":
			like = append(like, "CGO_ENABLED="+s.Value)
		}
	}
	cmd := exec.CommandContext(ctx, gotool, "build", "-buildvcs="+vcs, "-o", tmp, "./"+pkg)
	cmd.Dir = dir
	cmd.Env = append(append(append(os.Environ(), like...), env...), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build ./%s in %s (%s): %w: %s", pkg, dir, strings.Join(env, " "), err, bytes.TrimSpace(out))
	}
	if check != nil {
		if err := check(tmp); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("go build in %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return dir, nil
}

// sourceDir is the root of the module mod when this package was compiled
// from it and it holds pkg; else "" and where it looked.
func sourceDir(mod, pkg string) (dir, tried string) {
	_, file, _, ok := goruntime.Caller(0)
	if !ok || !filepath.IsAbs(file) { // -trimpath
		return "", "this binary's recorded source paths (it was built with -trimpath)"
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // <root>/internal/gobuild/gobuild.go
	if modulePath(filepath.Join(root, "go.mod")) != mod {
		return "", root
	}
	if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
		return "", root
	}
	return root, root
}

// modulePath reads the module line of a go.mod.
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// download returns the module cache directory of mod@version, fetching it
// when it is not there (GOPROXY as the user set it).
func download(ctx context.Context, gotool, modVersion string) (string, error) {
	cmd := exec.CommandContext(ctx, gotool, "mod", "download", "-json", modVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	_ = json.Unmarshal(out, &m)
	if err != nil || m.Dir == "" {
		if m.Error != "" {
			return "", fmt.Errorf("go mod download %s: %s", modVersion, m.Error)
		}
		return "", fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	return m.Dir, nil
}
