package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/supervise"
)

// DefaultTargets are the platforms a release is built for.
var DefaultTargets = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// supervisorArchs are the Linux arches whose static loopd every archive
// carries: the in-container supervisor is always Linux.
var supervisorArchs = []string{"amd64", "arm64"}

const (
	module   = "github.com/loopdev/loop"
	homepage = "https://github.com/loopdev/loop"
)

// Config is one release run.
type Config struct {
	Version string   // the tag, "v0.1.0"
	Out     string   // output directory
	Targets []string // GOOS/GOARCH
	BaseURL string   // where the archives will be hosted
	DryRun  bool     // skip the clean-tree and tag checks
	Root    string   // the module root; "" finds it with go env GOMOD
	Log     io.Writer
}

// Target is the outcome for one GOOS/GOARCH.
type Target struct {
	OS, Arch string
	Archive  string // file name under Out; "" when it failed
	Size     int64
	SHA256   string
	SBOM     string
	Err      error // why it failed
}

func (t Target) String() string { return t.OS + "/" + t.Arch }

// Result is what a run produced.
type Result struct {
	Out     string
	Targets []Target
	Files   []string // everything else written: SHA256SUMS, SBOMs, manifests
	Notes   []string // what was skipped and why
}

// Failed lists the targets that did not build.
func (r *Result) Failed() []Target {
	var f []Target
	for _, t := range r.Targets {
		if t.Err != nil {
			f = append(f, t)
		}
	}
	return f
}

// Print writes the per-target report.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "release in %s:\n", r.Out)
	for _, t := range r.Targets {
		if t.Err != nil {
			fmt.Fprintf(w, "  FAIL %-14s %s\n", t, indent(t.Err.Error()))
			continue
		}
		fmt.Fprintf(w, "  ok   %-14s %s (%s, sha256 %s)\n", t, t.Archive, size(t.Size), t.SHA256[:12])
	}
	for _, f := range r.Files {
		fmt.Fprintf(w, "  wrote %s\n", f)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n                      ")
}

func size(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Run builds every target, packs what built, and writes the checksums,
// SBOMs and package manifests. It returns an error when a target failed
// (the Result still lists every target) or the run could not go on.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Log == nil {
		c.Log = io.Discard
	}
	if !strings.HasPrefix(c.Version, "v") {
		return nil, fmt.Errorf("version %q: want a tag such as v0.1.0", c.Version)
	}
	if c.BaseURL == "" {
		c.BaseURL = homepage + "/releases/download/" + c.Version
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.Root == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
			return nil, fmt.Errorf("find the module root (go env GOMOD): %v: run from the loop checkout", err)
		}
		c.Root = filepath.Dir(strings.TrimSpace(string(out)))
	}
	var targets []Target
	for _, s := range c.Targets {
		goos, goarch, ok := strings.Cut(s, "/")
		if !ok || goos == "" || goarch == "" {
			return nil, fmt.Errorf("target %q: want GOOS/GOARCH such as linux/amd64", s)
		}
		targets = append(targets, Target{OS: goos, Arch: goarch})
	}
	epoch, err := sourceDate(ctx, c)
	if err != nil {
		return nil, err
	}
	if !c.DryRun {
		if err := checkTree(ctx, c); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "loop-release-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	b := &builder{c: c, work: work, built: map[string]buildResult{}}
	supervisors := map[string]string{}
	var supErr []string
	for _, arch := range supervisorArchs {
		p, err := b.build(ctx, "linux", arch, "loopd")
		if err != nil {
			supErr = append(supErr, fmt.Sprintf("supervisor linux/%s: %v", arch, err))
			continue
		}
		supervisors[arch] = p
	}
	r := &Result{Out: c.Out}
	for _, t := range targets {
		t = b.target(ctx, t, supervisors, supErr, epoch)
		r.Targets = append(r.Targets, t)
	}
	if err := r.writeSums(c); err != nil {
		return r, err
	}
	if err := r.writeManifests(c); err != nil {
		return r, err
	}
	if f := r.Failed(); len(f) > 0 {
		names := make([]string, len(f))
		for i, t := range f {
			names[i] = t.String()
		}
		return r, fmt.Errorf("%d of %d targets failed to build: %s", len(f), len(r.Targets), strings.Join(names, ", "))
	}
	return r, nil
}

// target builds and packs one target.
func (b *builder) target(ctx context.Context, t Target, supervisors map[string]string, supErr []string, epoch time.Time) Target {
	if len(supErr) > 0 {
		t.Err = errors.New(strings.Join(supErr, "\n"))
		return t
	}
	exe := ""
	if t.OS == "windows" {
		exe = ".exe"
	}
	var files []file
	var errs []string
	for _, cmd := range []string{"loop", "loopd"} {
		p, err := b.build(ctx, t.OS, t.Arch, cmd)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", cmd, err))
			continue
		}
		files = append(files, file{name: cmd + exe, src: p, mode: 0o755})
	}
	if len(errs) > 0 {
		t.Err = errors.New(strings.Join(errs, "\n"))
		return t
	}
	for _, name := range []string{"LICENSE", "README.md"} {
		if p := filepath.Join(b.c.Root, name); exists(p) {
			files = append(files, file{name: name, src: p, mode: 0o644})
		}
	}
	for _, arch := range supervisorArchs {
		files = append(files, file{name: filepath.ToSlash(supervise.ReleasePath(arch)), src: supervisors[arch], mode: 0o755})
	}
	base := fmt.Sprintf("loop_%s_%s_%s", strings.TrimPrefix(b.c.Version, "v"), t.OS, t.Arch)
	t.Archive = base + ".tar.gz"
	pack := writeTarGz
	if t.OS == "windows" {
		t.Archive, pack = base+".zip", writeZip
	}
	var buf bytes.Buffer
	if err := pack(&buf, files, epoch); err != nil {
		t.Err, t.Archive = fmt.Errorf("pack: %w", err), ""
		return t
	}
	if err := os.WriteFile(filepath.Join(b.c.Out, t.Archive), buf.Bytes(), 0o644); err != nil {
		t.Err, t.Archive = err, ""
		return t
	}
	sum := sha256.Sum256(buf.Bytes())
	t.SHA256, t.Size = hex.EncodeToString(sum[:]), int64(buf.Len())
	t.SBOM = base + ".sbom.cdx.json"
	sbom, err := makeSBOM(b.c.Version, t, files, epoch)
	if err == nil {
		err = os.WriteFile(filepath.Join(b.c.Out, t.SBOM), sbom, 0o644)
	}
	if err != nil {
		t.Err = fmt.Errorf("sbom: %w", err)
	}
	return t
}

type buildResult struct {
	path string
	err  error
}

// builder builds each GOOS/GOARCH/command once, one at a time.
type builder struct {
	c     Config
	work  string
	built map[string]buildResult
}

// build runs go build for cmd/<cmd> and returns the binary's path; its
// error carries the compiler's output.
func (b *builder) build(ctx context.Context, goos, goarch, cmd string) (string, error) {
	key := goos + "_" + goarch + "/" + cmd
	if r, ok := b.built[key]; ok {
		return r.path, r.err
	}
	out := filepath.Join(b.work, goos+"_"+goarch, cmd)
	fmt.Fprintf(b.c.Log, "build %s/%s %s\n", goos, goarch, cmd)
	start := time.Now()
	ldflags := "-s -w -buildid= -X " + module + "/internal/buildinfo.version=" + b.c.Version
	gb := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=auto", "-ldflags", ldflags, "-o", out, "./cmd/"+cmd)
	gb.Dir = b.c.Root
	gb.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	msg, err := gb.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("go build: %w\n%s", err, tail(string(msg), 15))
		out = ""
	} else {
		fmt.Fprintf(b.c.Log, "  %s in %s\n", key, time.Since(start).Round(time.Millisecond))
	}
	b.built[key] = buildResult{out, err}
	return out, err
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d more lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// sourceDate is the time every archive entry gets: $SOURCE_DATE_EPOCH,
// else the commit's time, else the Unix epoch.
func sourceDate(ctx context.Context, c Config) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	cmd := exec.CommandContext(ctx, "git", "log", "-1", "--format=%ct")
	cmd.Dir = c.Root
	if out, err := cmd.Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Unix(0, 0).UTC(), nil
}

// checkTree refuses a release from a modified tree or one whose HEAD is
// not the version's tag.
func checkTree(ctx context.Context, c Config) error {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = c.Root
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	if st, err := git("status", "--porcelain"); err != nil {
		return fmt.Errorf("git status in %s: %w (use -dry-run outside a git checkout)", c.Root, err)
	} else if st != "" {
		return fmt.Errorf("the tree in %s has uncommitted changes: commit them, or use -dry-run", c.Root)
	}
	tags, err := git("tag", "--points-at", "HEAD")
	if err != nil || !slices.Contains(strings.Fields(tags), c.Version) {
		return fmt.Errorf("HEAD is not tagged %s: git tag %s, or use -dry-run", c.Version, c.Version)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
