//go:build linux

// Command bench measures loop's inner-loop latencies against the targets
// in DESIGN.md, and the same save -> restarted -> answering loop for the
// peers entr, air and Docker Compose watch when they are installed:
//
//	(a) write -> batch delivered by internal/watch
//	(b) save -> local service restarted and answering (loop, entr, air)
//	(c) a 100,000-file tree: time to ready, inotify watches, RSS, idle CPU
//	(d) save -> file visible inside a container (loop, docker cp,
//	    CopyToContainer, compose watch with action sync)
//	(e) save -> container service restarted in place and answering (loop,
//	    compose watch with action sync+restart, a docker exec tar +
//	    docker restart script)
//	(f) Kubernetes, on the test cluster: save -> visible in the pod, save
//	    -> restarted in place and answering, and rebuild + import +
//	    rollout (loop, and docker build + ctr import + kubectl by hand)
//	(g) scale: 10,000 resources in one project, and 50 projects in one
//	    loopd: `loop status`, GET of the project, and the events of one
//	    change (how many resources they carry, their bytes)
//
// Sections d, e and f need a Docker engine and the local image
// loop-test/busybox:latest; without an engine they are skipped. Section f
// also needs the test cluster (scripts/setup-k8s.sh); without its
// kubeconfig it is skipped.
//
// Run it from the repository: go run ./bench [-n 50] [-only a,b,c,d,e,f,g] [-skip-peers].
// See docs/benchmark.md for what each figure means.
//
// It runs on Linux only (build tag): it reads /proc and inotify limits and
// drives the Linux test cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	edits     int
	aSamples  int
	startups  int
	skipPeers bool
	dirs      int
	files     int
	keep      bool
	kubeEdits int // (f): -n when given, else kubeEditsDefault
	stress    int // CPU workers of stress-ng running beside the whole run; 0 = none

	scaleResources int // (g) resources of the big project
	scaleProjects  int // (g) projects of 20 resources
	scaleSamples   int // (g) samples of each figure
}

func main() {
	var cfg config
	only := flag.String("only", "a,b,c,d,e,f,g", "comma-separated sections to run: a (watch), b (restart), c (100k tree), d (container sync), e (container restart), f (Kubernetes; skipped without the test cluster), g (scale: 10,000 resources, 50 projects)")
	flag.IntVar(&cfg.edits, "n", 50, fmt.Sprintf("(b, d, e, f) edits per tool (f: %d unless given)", kubeEditsDefault))
	flag.IntVar(&cfg.aSamples, "a-samples", 200, "(a) writes per debounce setting")
	flag.IntVar(&cfg.startups, "startups", 30, "(b, e) standalone start-ups of the test server to measure its start-up time")
	flag.BoolVar(&cfg.skipPeers, "skip-peers", false, "(b, d, e) measure loop and the baselines only, not entr, air and docker compose")
	flag.IntVar(&cfg.dirs, "dirs", 5000, "(c) directories in the tree")
	flag.IntVar(&cfg.files, "files", 20, "(c) files per directory")
	flag.IntVar(&cfg.scaleResources, "resources", 10000, "(g) resources in the big project")
	flag.IntVar(&cfg.scaleProjects, "projects", 50, "(g) projects of 20 resources in one loopd")
	flag.IntVar(&cfg.scaleSamples, "g-samples", 20, "(g) samples of each figure")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temp dir (logs, trees) for inspection")
	flag.IntVar(&cfg.stress, "stress", 0, "run `stress-ng --cpu N` beside the whole run (a loaded machine); 0 = quiet")
	flag.Parse()
	cfg.kubeEdits = kubeEditsDefault
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "n" {
			cfg.kubeEdits = cfg.edits
		}
	})
	sections := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			sections[s] = true
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "bench: interrupted, cleaning up")
		cancel()
		// A section stuck outside ctx must not leave processes behind.
		time.Sleep(15 * time.Second)
		runCleanups()
		os.Exit(130)
	}()

	code := run(ctx, cfg, sections)
	cancel()
	runCleanups()
	os.Exit(code)
}

func run(ctx context.Context, cfg config, sections map[string]bool) int {
	tmp, err := os.MkdirTemp("", "loopbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "bench: keeping", tmp)
	} else {
		atCleanup(func() { os.RemoveAll(tmp) })
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	header(cfg)
	if cfg.stress > 0 {
		if err := startStress(ctx, cfg.stress); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}

	failed := false
	report := func(section string, err error) {
		switch {
		case err == nil:
		case ctx.Err() != nil:
			failed = true
			fmt.Printf("%s  interrupted\n", section)
		default:
			failed = true
			fmt.Printf("%s  ERROR: %v\n", section, err)
		}
	}
	if sections["a"] {
		report("a", benchWatch(ctx, cfg, filepath.Join(tmp, "a")))
	}
	var bins *binaries
	var db *dockerBench
	if sections["f"] && !kubeClusterExists() {
		fmt.Printf("f  skipped: %s\n", kubeNoCluster)
		delete(sections, "f")
	}
	if sections["d"] || sections["e"] || sections["f"] {
		if db, err = newDockerBench(ctx); err != nil {
			for _, s := range []string{"d", "e", "f"} {
				if sections[s] {
					fmt.Printf("%s  skipped: Docker engine not reachable: %v\n", s, err)
					delete(sections, s)
				}
			}
		}
	}
	var kb *kubeBench
	if sections["f"] {
		if kb, err = newKubeBench(ctx, db); err != nil {
			fmt.Printf("f  skipped: %s: %v\n", kubeNoCluster, err)
			delete(sections, "f")
		}
	}
	if sections["b"] || sections["c"] || sections["d"] || sections["e"] || sections["f"] || sections["g"] {
		fmt.Fprintln(os.Stderr, "bench: building loop, loopd and the test servers ...")
		bins, err = build(ctx, root, filepath.Join(tmp, "bin"))
		if err != nil {
			report("build", err)
			return 1
		}
	}
	if sections["b"] && ctx.Err() == nil {
		report("b", benchRestart(ctx, cfg, bins, filepath.Join(tmp, "b")))
	}
	if sections["c"] && ctx.Err() == nil {
		report("c", benchTree(ctx, cfg, bins, filepath.Join(tmp, "c")))
	}
	if sections["d"] && ctx.Err() == nil {
		report("d", benchSync(ctx, cfg, bins, db, filepath.Join(tmp, "d")))
	}
	if sections["e"] && ctx.Err() == nil {
		report("e", benchContainerRestart(ctx, cfg, bins, db, filepath.Join(tmp, "e")))
	}
	if sections["f"] && ctx.Err() == nil {
		report("f", benchKube(ctx, cfg, bins, kb, filepath.Join(tmp, "f")))
	}
	if sections["g"] && ctx.Err() == nil {
		report("g", benchScale(ctx, cfg, bins, filepath.Join(tmp, "g")))
	}
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

func header(cfg config) {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load := "quiet"
	if cfg.stress > 0 {
		load = fmt.Sprintf("LOADED: stress-ng --cpu %d beside", cfg.stress)
	}
	fmt.Printf("# loop bench  %s  %s/%s  %d CPUs  kernel %s  %s  %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		strings.TrimSpace(string(kernel)), time.Now().Format(time.RFC3339), load)
}

// startStress runs stress-ng with n CPU workers until the bench ends (its
// process group is killed at cleanup).
func startStress(ctx context.Context, n int) error {
	bin, err := exec.LookPath("stress-ng")
	if err != nil {
		return fmt.Errorf("-stress needs stress-ng (scripts/setup-stress.sh installs it): %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "--cpu", strconv.Itoa(n), "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start stress-ng: %w", err)
	}
	atCleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return nil
}

// moduleRoot is the directory of loop's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run go run ./bench from loop's repository")
	}
	data, err := os.ReadFile(mod)
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(data), "module github.com/loopdev/loop\n") {
		return "", fmt.Errorf("%s is not loop's go.mod: run from loop's repository", mod)
	}
	return filepath.Dir(mod), nil
}

type binaries struct {
	loop, loopd, server string
	ctrbin              string // static, for the containers of (d) and (e)
}

// build builds the binaries static (CGO_ENABLED=0): loopd mounts itself
// into containers as their supervisor and refuses a dynamically linked
// binary, and ctrbin runs in a FROM scratch busybox image.

func build(ctx context.Context, root, dir string) (*binaries, error) {
	b := &binaries{
		loop:   filepath.Join(dir, "loop"),
		loopd:  filepath.Join(dir, "loopd"),
		server: filepath.Join(dir, "testserver"),
		ctrbin: filepath.Join(dir, "ctrbin"),
	}
	for _, t := range []struct{ out, pkg string }{
		{b.loop, "./cmd/loop"}, {b.loopd, "./cmd/loopd"}, {b.server, "./bench/testserver"}, {b.ctrbin, "./bench/ctrbin"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", t.pkg, err, out)
		}
	}
	return b, nil
}
