//go:build linux

package main

// The manual row of section (f): the peers' default image path by hand,
// with the docker, ctr and kubectl CLIs.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// manual is the last row: no loop. A Deployment web of image
// loopbench-lbf4-<run id>:0 in its own namespace; each edit writes
// site/index.html in the build context, then runs `docker build`, `docker
// save | ctr images import -`, `kubectl set image` and `kubectl rollout
// status`, all timed, while it polls GET / through a port forward (loop's
// forwarder, in the bench: kubectl port-forward dies with its pod) until
// the new content answers. Also returned: the build + import and the set
// image -> rolled out parts.
func (kb *kubeBench) manual(ctx context.Context, n int, dir string) (samples, build, roll []time.Duration, timeouts int, err error) {
	ns, err := kb.namespace(ctx, "lbf4")
	if err != nil {
		return nil, nil, nil, 0, err
	}
	web := filepath.Join(dir, "web")
	if err := mkdirs(filepath.Join(web, "site"), filepath.Join(web, "data")); err != nil {
		return nil, nil, nil, 0, err
	}
	content := newContent(0)
	for name, data := range map[string]string{"Dockerfile": kubeDockerfile, "site/index.html": content, "data/content": content} {
		if err := os.WriteFile(filepath.Join(web, name), []byte(data), 0o644); err != nil {
			return nil, nil, nil, 0, err
		}
	}
	repo := "loopbench-lbf4-" + kb.runID
	push := func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		tag := repo + ":" + strconv.Itoa(i)
		start := time.Now()
		if err := runCLI(ctx, nil, []string{"DOCKER_BUILDKIT=0"}, "docker", "build", "-q", "-t", tag, web); err != nil {
			return 0, 0, err
		}
		if err := kb.saveImport(ctx, tag); err != nil {
			return 0, 0, err
		}
		built := time.Since(start)
		if i == 0 {
			return built, 0, nil
		}
		start = time.Now()
		if err := runCLI(ctx, nil, nil, kb.kubectl, "--kubeconfig", kb.kubeconfig, "-n", ns, "set", "image", "deployment/web", "web="+tag); err != nil {
			return 0, 0, err
		}
		if err := runCLI(ctx, nil, nil, kb.kubectl, "--kubeconfig", kb.kubeconfig, "-n", ns, "rollout", "status", "deployment/web", "--timeout", "3m"); err != nil {
			return 0, 0, err
		}
		return built, time.Since(start), nil
	}
	if _, _, err := push(ctx, 0); err != nil {
		return nil, nil, nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "k8s.yaml"), []byte(kubeDeployment(repo+":0", "")), 0o644); err != nil {
		return nil, nil, nil, 0, err
	}
	if err := runCLI(ctx, nil, nil, kb.kubectl, "--kubeconfig", kb.kubeconfig, "-n", ns, "apply", "-f", filepath.Join(dir, "k8s.yaml")); err != nil {
		return nil, nil, nil, 0, err
	}
	if err := runCLI(ctx, nil, nil, kb.kubectl, "--kubeconfig", kb.kubeconfig, "-n", ns, "rollout", "status", "deployment/web", "--timeout", "3m"); err != nil {
		return nil, nil, nil, 0, err
	}
	fw, err := kb.c.Forward(ns, "app=web", 0, 8080, nil)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { fw.Run(fctx); close(done) }()
	defer func() { stop(); <-done }()
	file := filepath.Join(web, "site", "index.html")
	// The script runs while the GET poll does, as loop's rows do (the
	// poll's streams through the API server cost CPU on this machine):
	// check waits for it and keeps its parts.
	type pushed struct {
		build, roll time.Duration
		err         error
	}
	var running chan pushed
	var edit int
	samples, timeouts, err = kubeEdits(ctx, n, fw.Addr().String(), equals(content), kubeBuildTimeout, nil,
		func(ctx context.Context, i int) (func(string) bool, error) {
			if running != nil { // the previous edit timed out: let its script end
				<-running
			}
			c := newContent(i)
			if err := writeInPlace(file, c); err != nil {
				return nil, err
			}
			edit, running = i, make(chan pushed, 1)
			go func(done chan<- pushed) {
				b, r, err := push(ctx, i)
				done <- pushed{b, r, err}
			}(running)
			return equals(c), nil
		},
		func() error {
			p := <-running
			running = nil
			if p.err != nil {
				return p.err
			}
			if edit > warmups {
				build, roll = append(build, p.build), append(roll, p.roll)
			}
			return nil
		})
	if running != nil {
		<-running
	}
	return samples, build, roll, timeouts, err
}

// saveImport is `docker save TAG | ctr -a SOCK -n k8s.io images import -`.
func (kb *kubeBench) saveImport(ctx context.Context, tag string) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	save := exec.CommandContext(cctx, "docker", "save", tag)
	imp := exec.CommandContext(cctx, kb.ctr, "-a", kb.sock, "-n", "k8s.io", "images", "import", "-")
	pr, pw := io.Pipe()
	save.Stdout = pw
	imp.Stdin = pr
	var saveErr, impErr strings.Builder
	save.Stderr, imp.Stderr = &saveErr, &impErr
	if err := imp.Start(); err != nil {
		return err
	}
	if err := save.Start(); err != nil {
		pw.Close()
		imp.Wait()
		return err
	}
	serr := save.Wait()
	pw.CloseWithError(serr)
	ierr := imp.Wait()
	if serr != nil {
		return fmt.Errorf("docker save %s: %v: %s", tag, serr, saveErr.String())
	}
	if ierr != nil {
		return fmt.Errorf("ctr images import: %v: %s", ierr, impErr.String())
	}
	return nil
}

// runCLI runs a CLI as a user's script would (env added to the bench's).
func runCLI(ctx context.Context, stdin io.Reader, env []string, name string, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}
