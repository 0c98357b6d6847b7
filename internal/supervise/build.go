package supervise

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"
)

// buildTimeout bounds an on-demand build (a cold build cache on a busy
// machine takes tens of seconds).
const buildTimeout = 5 * time.Minute

// build compiles cmd/loop-supervisor for linux/l.Arch with CGO_ENABLED=0
// from the module exe was built from, into dst, and returns the source
// directory it used. The source is, in order: the directory this package
// was compiled from (recorded in the binary: a checkout for a `go build`,
// the module cache for `go install ...@version`) when its go.mod is exe's
// main module; else, for a released version, `go mod download` of that
// version (the module cache, or the proxy).
func (l Lookup) build(ctx context.Context, exe, dst string) (string, error) {
	gotool := l.Go
	switch gotool {
	case "-":
		return "", errors.New("on-demand builds are off")
	case "":
		p, err := exec.LookPath("go")
		if err != nil {
			return "", errors.New("no go command in loopd's PATH to build one with")
		}
		gotool = p
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("read the build info of %s: %w", exe, err)
	}
	mod := bi.Main.Path
	dir, tried := sourceDir(mod)
	if dir == "" {
		v := bi.Main.Version
		if v == "" || v == "(devel)" {
			return "", fmt.Errorf("the source of %s (%s, a development build) is not at %s; build loopd with CGO_ENABLED=0 or set LOOP_SUPERVISOR", exe, mod, tried)
		}
		if dir, err = download(ctx, gotool, mod+"@"+v); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.build-%d", dst, os.Getpid())
	cmd := exec.CommandContext(ctx, gotool, "build", "-o", tmp, "./"+programPkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+l.Arch, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build ./%s in %s (CGO_ENABLED=0 GOOS=linux GOARCH=%s): %w: %s", programPkg, dir, l.Arch, err, bytes.TrimSpace(out))
	}
	if _, err := Check(tmp, l.Arch); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build in %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return dir, nil
}

// sourceDir is the root of module mod's source as this binary was compiled
// from it, or "" and where it looked.
func sourceDir(mod string) (dir, tried string) {
	_, file, _, ok := goruntime.Caller(0)
	if !ok || !filepath.IsAbs(file) { // -trimpath
		return "", "this binary's recorded source paths (it was built with -trimpath)"
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // <root>/internal/supervise/build.go
	if modulePath(filepath.Join(root, "go.mod")) != mod {
		return "", root
	}
	if _, err := os.Stat(filepath.Join(root, programPkg)); err != nil {
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
