//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	dockerbuild "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	dockerrt "github.com/loopdev/loop/internal/runtime/docker"
)

const (
	baseImage  = "loop-test/busybox:latest"
	benchLabel = "dev.loop.bench" // = the run id, on every container and image the bench creates
)

// dockerBench is the Docker side of sections d and e: a client, the run id
// every container and image the bench creates is labelled with, and the
// bench image (FROM loop-test/busybox, plus /ctrbin).
type dockerBench struct {
	cli   *client.Client
	runID string
	image string // "" until built
}

// newDockerBench connects to the engine (DOCKER_HOST or the default
// socket, API version negotiated) and registers the cleanup of everything
// labelled with this run.
func newDockerBench(ctx context.Context) (*dockerBench, error) {
	cli, _, err := dockerrt.Connect()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, err
	}
	if _, err := exec.LookPath("docker"); err != nil {
		cli.Close()
		return nil, fmt.Errorf("the docker CLI (for the baselines): %w", err)
	}
	db := &dockerBench{cli: cli, runID: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	atCleanup(func() {
		db.removeAll()
		cli.Close()
	})
	return db, nil
}

// removeAll force-removes every container and image of this run.
func (db *dockerBench) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db.removeContainers(ctx, benchLabel+"="+db.runID)
	if db.image != "" {
		if _, err := db.cli.ImageRemove(ctx, db.image, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
			fmt.Fprintf(os.Stderr, "bench: remove image %s: %v\n", db.image, err)
		}
	}
}

// removeContainers force-removes the containers with label (k=v), with
// their anonymous volumes.
func (db *dockerBench) removeContainers(ctx context.Context, label string) {
	list, err := db.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: list containers %s: %v\n", label, err)
		return
	}
	for _, c := range list {
		if err := db.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !client.IsErrNotFound(err) {
			fmt.Fprintf(os.Stderr, "bench: remove container %s: %v\n", c.ID[:12], err)
		}
	}
}

// removeLoopProject force-removes the containers loopd created for
// project (a fallback when `loop down` did not run or failed).
func (db *dockerBench) removeLoopProject(project string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db.removeContainers(ctx, dockerrt.LabelProject+"="+project)
}

// buildImage builds the bench image once: loop-test/busybox plus the
// static ctrbin at /ctrbin, and empty /src and /app.
func (db *dockerBench) buildImage(ctx context.Context, ctrbin string) (string, error) {
	if db.image != "" {
		return db.image, nil
	}
	bin, err := os.ReadFile(ctrbin)
	if err != nil {
		return "", err
	}
	dockerfile := fmt.Sprintf("FROM %s\nCOPY ctrbin /ctrbin\nCOPY src /src\nCOPY app /app\n", baseImage)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"ctrbin", 0o755, bin}, {"src/", 0o755, nil}, {"app/", 0o755, nil}} {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	tag := "loopbench/ctr:" + db.runID
	db.image = tag // set before the build: a half-done build is cleaned up too
	resp, err := db.cli.ImageBuild(ctx, &buf, dockerbuild.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels:  map[string]string{benchLabel: db.runID},
		Version: dockerbuild.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("build %s: %w", tag, err)
		}
		if m.Error != "" {
			return "", fmt.Errorf("build %s: %s", tag, strings.TrimSpace(m.Error))
		}
	}
	return tag, nil
}

// ctrSpec is a baseline container: the bench image running argv.
type ctrSpec struct {
	name  string
	argv  []string
	env   []string
	binds []string // host:container
	port  int      // host port published to the container's 8080; 0: none
	files map[string]string
}

// runContainer creates, fills (files: absolute path in the container ->
// content, copied before start) and starts a labelled container.
func (db *dockerBench) runContainer(ctx context.Context, s ctrSpec) (string, error) {
	cfg := &container.Config{Image: db.image, Cmd: s.argv, Env: s.env, Labels: map[string]string{benchLabel: db.runID}}
	hcfg := &container.HostConfig{Binds: s.binds}
	if s.port != 0 {
		p := nat.Port("8080/tcp")
		cfg.ExposedPorts = nat.PortSet{p: struct{}{}}
		hcfg.PortBindings = nat.PortMap{p: {{HostPort: strconv.Itoa(s.port)}}}
	}
	name := "loopbench-" + db.runID + "-" + s.name
	resp, err := db.cli.ContainerCreate(ctx, cfg, hcfg, nil, nil, name)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	for path, content := range s.files {
		dir, base := splitPath(path)
		if err := db.cli.CopyToContainer(ctx, resp.ID, dir, tarOf(base, content), container.CopyToContainerOptions{}); err != nil {
			return "", fmt.Errorf("copy %s into %s: %w", path, name, err)
		}
	}
	if err := db.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	return resp.ID, nil
}

func splitPath(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	return p[:max(i, 1)], p[i+1:]
}

// tarOf is a tar stream of one regular file.
func tarOf(name, content string) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()})
	io.WriteString(tw, content)
	tw.Close()
	return &buf
}

// dockerCLI runs the docker CLI, as a user's script would.
func dockerCLI(ctx context.Context, stdin io.Reader, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "docker", args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
