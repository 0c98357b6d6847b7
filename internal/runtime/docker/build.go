package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/model"
)

// imageTag is the content-addressed tag of img in project.
func imageTag(project, name, hash string) string {
	return "loop/" + refName(project) + "-" + refName(name) + ":" + hash
}

var badRef = regexp.MustCompile(`[^a-z0-9._-]+`)

// refName makes s usable in an image repository name.
func refName(s string) string {
	s = badRef.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-._")
	if s == "" {
		return "x"
	}
	return s
}

// buildImage builds img unless an image with its content-addressed tag
// exists, and returns the tag. Build output goes to out.
func (r *Runtime) buildImage(ctx context.Context, cli *client.Client, project string, img *model.Image, out io.Writer) (string, error) {
	if img.Base != nil {
		baseTag, err := r.buildImage(ctx, cli, project, img.Base, out)
		if err != nil {
			return "", err
		}
		withBase := *img
		withBase.BuildArgs = maps.Clone(img.BuildArgs)
		if withBase.BuildArgs == nil {
			withBase.BuildArgs = map[string]string{}
		}
		withBase.BuildArgs["LOOP_BASE_IMAGE"] = baseTag // part of the content hash too
		withBase.Base = nil
		img = &withBase
	}
	bc, err := contextOf(img)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, err)
	}
	sum, err := bc.hash(img)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, err)
	}
	tag := imageTag(project, img.Name, sum)
	done, err := r.buildTurn(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, err)
	}
	defer done()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		fmt.Fprintf(out, "image %s up to date (%s)\n", img.Name, tag)
		return tag, nil
	}
	fmt.Fprintf(out, "building image %s (%s)\n", img.Name, tag)

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bc.writeTar(pw)) }()
	defer pr.Close()
	args := map[string]*string{}
	for k, v := range img.BuildArgs {
		args[k] = &v
	}
	// Not cancelled with ctx: a cancelled build is made to fail instead,
	// and its response read to the end (see buildStop).
	stop := &buildStop{cli: cli, log: r.logger()}
	defer stop.watch(ctx)()
	resp, err := cli.ImageBuild(context.WithoutCancel(ctx), pr, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  bc.dockerfile,
		Target:      img.Target,
		BuildArgs:   args,
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelProject: project},
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, r.baseImageHint(ctx, cli, bc, err))
	}
	defer resp.Body.Close()
	err = streamBuild(resp.Body, out, stop.line)
	if ctx.Err() != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, ctx.Err())
	}
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Name, r.baseImageHint(ctx, cli, bc, err))
	}
	r.pruneTags(ctx, cli, tag)
	return tag, nil
}

// buildTurn waits until no build of tag is in progress in this runtime
// (or ctx ends), then holds the turn until done is called: resources
// sharing an image (a service and its tests) build it once, the others
// then find it up to date, instead of building it at the same time (each
// then takes as long as both together on a busy machine). A build that
// failed or was cancelled leaves the next one to build.
func (r *Runtime) buildTurn(ctx context.Context, tag string) (done func(), err error) {
	for {
		r.mu.Lock()
		busy, ok := r.builds[tag]
		if !ok {
			if r.builds == nil {
				r.builds = map[string]chan struct{}{}
			}
			turn := make(chan struct{})
			r.builds[tag] = turn
			r.mu.Unlock()
			return func() {
				r.mu.Lock()
				delete(r.builds, tag)
				r.mu.Unlock()
				close(turn)
			}, nil
		}
		r.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// keepTags is how many content-addressed tags of one image are kept: the
// newest builds, so switching branches back and forth does not rebuild.
const keepTags = 3

// pruneTags removes all but the newest keepTags tags of tag's repository.
// A tag a container still uses stays (the engine refuses to remove it);
// errors only cost disk space, so they are logged, not returned.
func (r *Runtime) pruneTags(ctx context.Context, cli *client.Client, tag string) {
	repo, _, _ := strings.Cut(tag, ":")
	list, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", repo))})
	if err != nil {
		r.logger().Debug("prune image tags", "repo", repo, "err", err)
		return
	}
	if len(list) <= keepTags {
		return
	}
	type tagged struct {
		ref     string
		created string // RFC 3339 with nanoseconds: the list's seconds tie for quick builds
	}
	var tags []tagged
	for _, img := range list {
		info, err := cli.ImageInspect(ctx, img.ID)
		if err != nil {
			continue
		}
		for _, t := range img.RepoTags {
			if strings.HasPrefix(t, repo+":") {
				tags = append(tags, tagged{t, info.Created})
			}
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		if tags[i].ref == tag || tags[j].ref == tag {
			return tags[i].ref == tag // the new build first, whatever its date
		}
		ti, _ := time.Parse(time.RFC3339Nano, tags[i].created)
		tj, _ := time.Parse(time.RFC3339Nano, tags[j].created)
		return ti.After(tj)
	})
	for _, t := range tags[min(len(tags), keepTags):] {
		if _, err := cli.ImageRemove(ctx, t.ref, image.RemoveOptions{PruneChildren: true}); err != nil {
			r.logger().Debug("prune image tag", "tag", t.ref, "err", err)
		}
	}
}

// buildMessage is one JSON message of a build's output stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Progress    string `json:"progress"`
	ID          string `json:"id"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
}

// streamBuild writes the build's JSON messages to out as text, shows
// each to seen, and returns the build's error.
func streamBuild(body io.Reader, out io.Writer, seen func(string)) error {
	dec := json.NewDecoder(body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(strings.TrimSpace(m.ErrorDetail.Message))
		case m.Error != "":
			return errors.New(strings.TrimSpace(m.Error))
		case m.Stream != "":
			seen(m.Stream)
			io.WriteString(out, m.Stream)
		case m.Status != "":
			line := m.Status
			if m.ID != "" {
				line = m.ID + ": " + line
			}
			if m.Progress != "" {
				line += " " + m.Progress
			}
			io.WriteString(out, line+"\n")
		}
	}
}

var fromLine = regexp.MustCompile(`(?im)^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?`)

// baseImageHint turns a failed build whose base image is missing locally
// into an error that says so.
func (r *Runtime) baseImageHint(ctx context.Context, cli *client.Client, bc *buildContext, err error) error {
	text, ferr := bc.dockerfileText()
	if ferr != nil {
		return err
	}
	stages := map[string]bool{"scratch": true}
	for _, m := range fromLine.FindAllStringSubmatch(string(text), -1) {
		base := m[1]
		if !stages[strings.ToLower(base)] && !strings.Contains(base, "$") {
			if _, ierr := cli.ImageInspect(ctx, base); ierr != nil && ctx.Err() == nil {
				return fmt.Errorf("base image %s is not present locally and cannot be pulled (%v): build it or docker load it locally", base, err)
			}
		}
		if m[2] != "" {
			stages[strings.ToLower(m[2])] = true
		}
	}
	return err
}
