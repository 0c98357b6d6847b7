package docker

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/loopdev/loop/internal/model"
)

// cancelOn is a build output that cancels the build when a line
// containing its mark is written, and records the step containers.
type cancelOn struct {
	mark   string
	cancel context.CancelFunc

	mu    sync.Mutex
	text  strings.Builder
	steps []string
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text.Write(p)
	if m := runningIn.FindStringSubmatch(string(p)); m != nil {
		c.steps = append(c.steps, m[1])
	}
	if strings.Contains(string(p), c.mark) {
		c.cancel()
	}
	return len(p), nil
}

// TestRuntime_BuildCancelled: a build cancelled in a step that runs a
// command, or in the LABEL step loop adds, returns the cancellation once
// the engine is done with it: none of its step containers, nothing
// labelled with the project is left. (The build request used to be
// aborted: it returned first, and the engine removed the step's container,
// labelled with the project in the last step, only later.)
func TestRuntime_BuildCancelled(t *testing.T) {
	r := testRuntime(t)
	for _, tc := range []struct{ name, dockerfile, mark string }{
		{"in a RUN step", "COPY a.txt /a.txt\nRUN sleep 1000\n", "Running in"},
		{"in loop's LABEL step", "COPY a.txt /a.txt\n", "LABEL " + LabelProject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			project := testProject(t, r)
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+testImage+"\n"+tc.dockerfile)
			writeFile(t, filepath.Join(dir, "a.txt"), project) // a new context: no cache
			img := &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &cancelOn{mark: tc.mark, cancel: cancel}

			tag, err := r.buildImage(ctx, r.cli, project, img, out)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("buildImage cancelled %s = %q, %v; want the cancellation\noutput:\n%s", tc.name, tag, err, out.text.String())
			}
			bg := context.Background()
			for _, id := range out.steps {
				if info, err := r.cli.ContainerInspect(bg, id); err == nil {
					t.Errorf("step container %s is still there (%s) when the cancelled build returned", id, info.State.Status)
				}
			}
			list, err := r.cli.ContainerList(bg, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list {
				t.Errorf("container %.12s (%s, %q) labelled with the project is left after the cancelled build", c.ID, c.State, c.Command)
			}
			if len(out.steps) == 0 {
				t.Errorf("the build was cancelled before any step container: the test no longer tests what it says\noutput:\n%s", out.text.String())
			}
		})
	}
}
