package docker

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// TestRuntime_BuildOnce: resources sharing an image that start together
// build it once; the others wait for that build and find it up to date.
func TestRuntime_BuildOnce(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+testImage+"\nCOPY a.txt /a.txt\nRUN cat /a.txt\n")
	writeFile(t, filepath.Join(dir, "a.txt"), project) // a new context: no cache
	img := &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}

	outs := make([]buffer, 3)
	tags := make([]string, len(outs))
	errs := make([]error, len(outs))
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags[i], errs[i] = r.buildImage(context.Background(), r.cli, project, img, &outs[i])
		}()
	}
	wg.Wait()
	built := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		if tags[i] != tags[0] {
			t.Errorf("build %d: tag %s, want %s", i, tags[i], tags[0])
		}
		switch out := outs[i].String(); {
		case strings.Contains(out, "Step 1/"):
			built++
		case !strings.Contains(out, "up to date"):
			t.Errorf("build %d neither built nor found the image up to date:\n%s", i, out)
		}
	}
	if built != 1 {
		t.Errorf("%d of %d concurrent builds of one image built it, want 1", built, len(outs))
	}
}
