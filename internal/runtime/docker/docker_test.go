package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/liveupdate/liveupdatetest"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

const testImage = "loop-test/busybox:latest"

var (
	superOnce sync.Once
	superPath string
	superErr  error
	superDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if superDir != "" {
		os.RemoveAll(superDir)
	}
	os.Exit(code)
}

// supervisorBinary builds cmd/loopd once, static (CGO_ENABLED=0), as
// containers need it.
func supervisorBinary(t *testing.T) string {
	t.Helper()
	superOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			superErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		pkg := "./cmd/loopd"
		superDir, superErr = os.MkdirTemp("", "loop-docker-test-")
		if superErr != nil {
			return
		}
		superPath = filepath.Join(superDir, "loopd")
		cmd := exec.Command("go", "build", "-o", superPath, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			superErr = errors.New(string(out))
		}
	})
	if superErr != nil {
		t.Fatalf("build static loopd: %v", superErr)
	}
	return superPath
}

// testRuntime returns a Runtime on the real engine, skipping (or failing
// with LOOP_REQUIRE_DOCKER=1) when there is none.
func testRuntime(t *testing.T) *Runtime {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("docker required (LOOP_REQUIRE_DOCKER=1): %s", why)
		}
		t.Skipf("no docker: %s", why)
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			skip("/var/run/docker.sock: " + err.Error())
		}
	}
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		skip(err.Error())
	}
	if _, err := r.cli.ImageInspect(ctx, testImage); err != nil {
		skip(testImage + " missing: run scripts/test-images.sh")
	}
	r.Supervisor = supervisorBinary(t)
	return r
}

// testProject returns a unique project name whose containers, volumes and
// images are removed when the test ends.
func testProject(t *testing.T, r *Runtime) string {
	b := make([]byte, 4)
	rand.Read(b)
	project := "looptest-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		f := filters.NewArgs(filters.Arg("label", LabelProject+"="+project))
		list, _ := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		for _, c := range list {
			r.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
		r.cli.NetworkRemove(ctx, NetworkName(project))
		vols, _ := r.cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		for _, v := range vols.Volumes {
			r.cli.VolumeRemove(ctx, v.Name, true)
		}
		imgs, _ := r.cli.ImageList(ctx, image.ListOptions{Filters: f})
		for _, i := range imgs {
			r.cli.ImageRemove(ctx, i.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	return project
}

// buffer is a goroutine-safe bytes.Buffer.
type buffer = liveupdatetest.Buffer

func testSpec(project, name, dir string, c *model.Container, out io.Writer) runtime.Spec {
	return runtime.Spec{
		Name: name, Project: project, ProjectDir: dir, Container: c,
		Stdout: out, Stderr: out, StopTimeout: 2 * time.Second,
	}
}

func start(t *testing.T, r *Runtime, spec runtime.Spec) *handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := r.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h.(*handle)
}

// run execs argv in h's container and returns its output and exit code.
func run(t *testing.T, h *handle, user string, argv ...string) (string, int) {
	t.Helper()
	var out buffer
	code, err := h.Exec(context.Background(), runtime.ExecSpec{Argv: argv, User: user, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	return out.String(), code
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: timed out; last: %s", what, last)
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func containersOf(t *testing.T, r *Runtime, project, resource string) []container.Summary {
	t.Helper()
	list, err := r.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelProject+"="+project), filters.Arg("label", LabelResource+"="+resource))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func stopHandle(t *testing.T, h runtime.Handle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestRuntime_Build(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+testImage+"\nCOPY . /ctx/\nCMD [\"sleep\", \"1000\"]\n")
	writeFile(t, filepath.Join(dir, ".dockerignore"), "secret.txt\nDockerfile\n")
	writeFile(t, filepath.Join(dir, "keep.txt"), "kept\n")
	writeFile(t, filepath.Join(dir, "secret.txt"), "secret\n")
	c := &model.Container{Image: "app", Build: &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}}

	var out buffer
	h := start(t, r, testSpec(project, "app", dir, c, &out))
	if !strings.Contains(out.String(), "Step 1/") {
		t.Errorf("first start did not build; output:\n%s", out.String())
	}
	if got, code := run(t, h, "", "cat", "/ctx/keep.txt"); code != 0 || got != "kept\n" {
		t.Errorf("keep.txt = %q (exit %d), want kept", got, code)
	}
	if got, code := run(t, h, "", "cat", "/ctx/secret.txt"); code == 0 {
		t.Errorf("secret.txt is in the image (%q) though .dockerignore excludes it", got)
	}
	// Docker sends an excluded Dockerfile (the build needs it) but keeps
	// it out of COPY.
	if _, code := run(t, h, "", "test", "-f", "/ctx/Dockerfile"); code == 0 {
		t.Errorf("an excluded Dockerfile was copied into the image")
	}
	stopHandle(t, h)

	var out2 buffer
	h = start(t, r, testSpec(project, "app", dir, c, &out2))
	if strings.Contains(out2.String(), "Step ") || !strings.Contains(out2.String(), "up to date") {
		t.Errorf("unchanged context rebuilt; output:\n%s", out2.String())
	}
	stopHandle(t, h)
}

func TestRuntime_BuildMissingBase(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM loop-test/does-not-exist:1\n")
	c := &model.Container{Image: "app", Build: &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}}
	_, err := r.Start(context.Background(), testSpec(project, "app", dir, c, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "loop-test/does-not-exist:1 is not present locally and cannot be pulled") {
		t.Fatalf("Start = %v, want a missing base image error", err)
	}
}

func TestRuntime_MissingImage(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	c := &model.Container{Image: "loop-test/does-not-exist:1"}
	_, err := r.Start(context.Background(), testSpec(project, "app", t.TempDir(), c, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "image loop-test/does-not-exist:1 is not present locally and no registry is reachable") {
		t.Fatalf("Start = %v, want a missing image error", err)
	}
}

func TestRuntime_PortInUse(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c := &model.Container{Image: testImage, KeepAlive: true, Ports: []model.PortMap{{Host: port, Container: 80}}}
	_, err = r.Start(context.Background(), testSpec(project, "app", t.TempDir(), c, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(port)+" is already in use on the host") {
		t.Fatalf("Start = %v, want a port in use error", err)
	}
	if n := len(containersOf(t, r, project, "app")); n != 0 {
		t.Errorf("%d containers left behind", n)
	}
}

func TestRuntime_ExitAtOnce(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	c := &model.Container{Image: testImage, Cmd: []string{"/bin/sh", "-c", "echo last words; exit 3"}}
	var out buffer
	h := start(t, r, testSpec(project, "app", t.TempDir(), c, &out))
	defer stopHandle(t, h)
	select {
	case <-h.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("Done not closed after the command exited")
	}
	if got := h.Exit(); got.Code != 3 {
		t.Errorf("Exit = %v, want exited 3", got)
	}
	if !strings.Contains(out.String(), "last words") {
		t.Errorf("output %q lacks the last log line", out.String())
	}
}

func TestRuntime_Lifecycle(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	sh := func(s string) *model.Command { return &model.Command{Argv: []string{"/bin/sh", "-c", s}} }
	c := &model.Container{
		Image: testImage, KeepAlive: true, Workdir: "/tmp", RemoteUser: "dev",
		RemoteEnv: map[string]string{"GREETING": "hi"},
		Lifecycle: &model.Lifecycle{
			Initialize: sh("echo init > init.txt"),
			OnCreate:   sh("echo create >> /tmp/lc"),
			PostCreate: &model.Command{Parallel: map[string][]string{
				"a": {"/bin/sh", "-c", "echo postcreate-a >> /tmp/lc-a"},
				"b": {"/bin/sh", "-c", "echo postcreate-b >> /tmp/lc-b"},
			}},
			PostStart: sh("echo start-$GREETING-$(id -u) >> /tmp/lc"),
		},
	}
	h := start(t, r, testSpec(project, "app", dir, c, io.Discard))
	if _, err := os.Stat(filepath.Join(dir, "init.txt")); err != nil {
		t.Errorf("initializeCommand did not run on the host in the project dir: %v", err)
	}
	if got, _ := run(t, h, "", "cat", "/tmp/lc", "/tmp/lc-a", "/tmp/lc-b"); got != "create\nstart-hi-1000\npostcreate-a\npostcreate-b\n" {
		t.Errorf("after the first start: %q", got)
	}
	// A stopped container started again: once-commands do not run again.
	if err := r.cli.ContainerStop(context.Background(), h.id, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	<-h.Done()
	h2 := start(t, r, testSpec(project, "app", dir, c, io.Discard))
	if h2.id != h.id {
		t.Errorf("restart created a new container")
	}
	if got, _ := run(t, h2, "", "cat", "/tmp/lc"); got != "create\nstart-hi-1000\nstart-hi-1000\n" {
		t.Errorf("after the second start: %q", got)
	}
	var out buffer
	code, err := h2.Exec(context.Background(), runtime.ExecSpec{Argv: []string{"/bin/sh", "-c", "echo $GREETING $X $(pwd) $(id -u)"}, Env: []string{"X=y"}, Stdout: &out})
	if err != nil || code != 0 || out.String() != "hi y /tmp 1000\n" {
		t.Errorf("Exec = %d, %v, %q; want hi y /tmp 1000", code, err, out.String())
	}
	stopHandle(t, h2)

	failing := &model.Container{
		Image: testImage, KeepAlive: true,
		Lifecycle: &model.Lifecycle{
			OnCreate:   sh("echo create >> /tmp/lc; echo it broke; exit 4"),
			PostCreate: sh("echo postcreate >> /tmp/lc"),
		},
	}
	_, err = r.Start(context.Background(), testSpec(project, "bad", dir, failing, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "onCreateCommand") || !strings.Contains(err.Error(), "it broke") {
		t.Fatalf("Start = %v, want the onCreateCommand failure with its output", err)
	}
	// The failed container is removed: the next start reruns the steps in
	// a new one, and loop down finds nothing left behind.
	if list := containersOf(t, r, project, "bad"); len(list) != 0 {
		t.Fatalf("%d containers after a failed lifecycle step, want none", len(list))
	}
}

func TestRuntime_Service(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	writeFile(t, filepath.Join(www, "index.html"), "v1\n")
	writeFile(t, filepath.Join(www, "gone.txt"), "soon gone\n")
	writeFile(t, filepath.Join(dir, "Dockerfile"), "not synced\n")
	port := freePort(t)
	vol := VolumeName(project, "data") // named volumes are scoped to the project
	c := &model.Container{
		Image: testImage,
		Cmd:   []string{"/bin/sh", "-c", "echo $$ > /tmp/pid; exec httpd -f -p 8080 -h /www"},
		User:  "dev",
		Ports: []model.PortMap{{Host: port, Container: 8080}},
		Sync:  []model.SyncRule{{Local: www, Remote: "/www"}},
		OnChange: []model.Step{
			{Cmd: []string{"/bin/sh", "-c", "echo ran >> /tmp/steps"}, Trigger: []string{filepath.Join(www, "trigger")}},
			{Cmd: []string{"/bin/sh", "-c", "if [ -e /www/fail ]; then echo boom; exit 3; fi"}},
			{Restart: true},
		},
		RebuildOn: []string{filepath.Join(dir, "deps")},
		Volumes:   []model.Volume{{Source: "data", Target: "/data", Named: true}},
	}
	var out buffer
	h := start(t, r, testSpec(project, "web", dir, c, &out))
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/index.html"
	eventually(t, "first answer", func() (bool, string) {
		s, err := httpGet(url)
		return s == "v1\n", s + errString(err)
	})
	pid := func(h *handle) string {
		s, _ := run(t, h, "", "cat", "/tmp/pid")
		return strings.TrimSpace(s)
	}
	pid1 := pid(h)
	update := func(h *handle, paths ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return h.Update(ctx, paths)
	}

	t.Run("owner", func(t *testing.T) {
		if got, _ := run(t, h, "", "stat", "-c", "%u:%g", "/www/index.html"); got != "1000:1000\n" {
			t.Errorf("synced file owner = %q, want 1000:1000", got)
		}
		if got, code := run(t, h, "dev", "/bin/sh", "-c", "echo x >> /www/gone.txt"); code != 0 {
			t.Errorf("dev cannot write a synced file: %s", got)
		}
	})

	t.Run("update restarts in place", func(t *testing.T) {
		since := time.Now()
		writeFile(t, filepath.Join(www, "index.html"), "v2\n")
		if err := update(h, filepath.Join(www, "index.html")); err != nil {
			t.Fatal(err)
		}
		// The restart is a signal frame on the open sync channel: no kill
		// through the engine.
		if kills := killEvents(t, r, h.id, since); len(kills) != 0 {
			t.Errorf("the restart in place went through the engine's kill: %v", kills)
		}
		if got, _ := run(t, h, "", "cat", "/www/index.html"); got != "v2\n" {
			t.Errorf("synced content = %q, want v2", got)
		}
		eventually(t, "new service process", func() (bool, string) {
			p := pid(h)
			return p != "" && p != pid1, p
		})
		eventually(t, "new content served", func() (bool, string) {
			s, err := httpGet(url)
			return s == "v2\n", s + errString(err)
		})
		if list := containersOf(t, r, project, "web"); len(list) != 1 || list[0].ID != h.id {
			t.Errorf("containers after a restart: %v, want only %s", list, h.id)
		}
		if got, code := run(t, h, "", "cat", "/tmp/steps"); code == 0 {
			t.Errorf("a step ran without its trigger: %q", got)
		}
	})

	t.Run("trigger", func(t *testing.T) {
		writeFile(t, filepath.Join(www, "trigger"), "1\n")
		if err := update(h, filepath.Join(www, "trigger")); err != nil {
			t.Fatal(err)
		}
		if got, _ := run(t, h, "", "cat", "/tmp/steps"); got != "ran\n" {
			t.Errorf("/tmp/steps = %q, want one run", got)
		}
	})

	t.Run("failing step", func(t *testing.T) {
		eventually(t, "service up", func() (bool, string) { p := pid(h); return p != "", p })
		before := pid(h)
		writeFile(t, filepath.Join(www, "fail"), "1\n")
		err := update(h, filepath.Join(www, "fail"))
		if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exited 3") {
			t.Fatalf("Update = %v, want the step's failure and output", err)
		}
		if got := pid(h); got != before {
			t.Errorf("service restarted after a failing step: pid %s -> %s", before, got)
		}
		os.Remove(filepath.Join(www, "fail"))
		if err := update(h, filepath.Join(www, "fail")); err != nil {
			t.Fatal(err)
		}
		if _, code := run(t, h, "", "test", "-e", "/www/fail"); code == 0 {
			t.Errorf("/www/fail not deleted in the running container")
		}
	})

	t.Run("rebuild", func(t *testing.T) {
		for _, p := range []string{filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "deps", "x")} {
			if err := update(h, p); !errors.Is(err, runtime.ErrRebuild) {
				t.Errorf("Update(%s) = %v, want ErrRebuild", p, err)
			}
		}
	})

	t.Run("adopt", func(t *testing.T) {
		r2 := New(r.Logger, r.Home)
		r2.Supervisor = r.Supervisor
		h2 := start(t, r2, testSpec(project, "web", dir, c, io.Discard))
		if h2.id != h.id {
			t.Errorf("second daemon created %s, want to adopt %s", h2.id, h.id)
		}
		if n := len(containersOf(t, r, project, "web")); n != 1 {
			t.Errorf("%d containers, want 1", n)
		}
		h = h2
	})

	t.Run("delete while stopped", func(t *testing.T) {
		if err := r.cli.ContainerStop(context.Background(), h.id, container.StopOptions{}); err != nil {
			t.Fatal(err)
		}
		<-h.Done()
		os.Remove(filepath.Join(www, "gone.txt"))
		if err := update(h, filepath.Join(www, "gone.txt")); err != nil {
			t.Fatal(err)
		}
		h2 := start(t, r, testSpec(project, "web", dir, c, io.Discard))
		if h2.id != h.id {
			t.Errorf("start of a stopped container created a new one")
		}
		h = h2
		if _, code := run(t, h, "", "test", "-e", "/www/gone.txt"); code == 0 {
			t.Errorf("/www/gone.txt survived a delete queued while stopped")
		}
		eventually(t, "served after the start", func() (bool, string) {
			s, err := httpGet(url)
			return s == "v2\n", s + errString(err)
		})
	})

	t.Run("re-created while stopped", func(t *testing.T) {
		// Deleted, then created again while stopped: the queued delete
		// must not remove the newer file at the next start.
		if err := r.cli.ContainerStop(context.Background(), h.id, container.StopOptions{}); err != nil {
			t.Fatal(err)
		}
		<-h.Done()
		back := filepath.Join(www, "back.txt")
		writeFile(t, back, "first\n")
		if err := update(h, back); err != nil {
			t.Fatal(err)
		}
		os.Remove(back)
		if err := update(h, back); err != nil {
			t.Fatal(err)
		}
		writeFile(t, back, "second\n")
		if err := update(h, back); err != nil {
			t.Fatal(err)
		}
		h = start(t, r, testSpec(project, "web", dir, c, io.Discard))
		if got, code := run(t, h, "", "cat", "/www/back.txt"); code != 0 || got != "second\n" {
			t.Errorf("/www/back.txt after delete, re-create and start = %q (exit %d), want second", got, code)
		}
	})

	t.Run("stop keeps volumes", func(t *testing.T) {
		stopHandle(t, h)
		if n := len(containersOf(t, r, project, "web")); n != 0 {
			t.Errorf("%d containers after Stop, want 0", n)
		}
		ctx := context.Background()
		if _, err := r.cli.VolumeInspect(ctx, vol); err != nil {
			t.Fatalf("named volume gone after Stop: %v", err)
		}
		if err := r.RemoveVolumes(ctx, project); err != nil {
			t.Fatal(err)
		}
		if _, err := r.cli.VolumeInspect(ctx, vol); !client.IsErrNotFound(err) {
			t.Errorf("volume after RemoveVolumes: %v, want not found", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// TestRuntime_CopiedSupervisor runs the way a remote engine is used: the
// supervisor is copied into the container, not bind-mounted.
func TestRuntime_CopiedSupervisor(t *testing.T) {
	r := testRuntime(t)
	r.copySuper = true
	project := testProject(t, r)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a\n")
	c := &model.Container{Image: testImage, KeepAlive: true, Sync: []model.SyncRule{{Local: filepath.Join(dir, "src"), Remote: "/src"}}}
	h := start(t, r, testSpec(project, "app", dir, c, io.Discard))
	defer stopHandle(t, h)
	info, err := r.cli.ContainerInspect(context.Background(), h.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range info.Mounts {
		if m.Destination == supervisorPath {
			t.Errorf("supervisor bind-mounted: %+v", m)
		}
	}
	if got, _ := run(t, h, "", "cat", "/src/a.txt"); got != "a\n" {
		t.Errorf("/src/a.txt = %q", got)
	}
	os.Remove(filepath.Join(dir, "src", "a.txt"))
	if err := h.Update(context.Background(), []string{filepath.Join(dir, "src", "a.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, code := run(t, h, "", "test", "-e", "/src/a.txt"); code == 0 {
		t.Errorf("/src/a.txt not deleted")
	}
}

// TestRuntime_BuildPrunesOldTags: only the newest keepTags builds of an
// image keep their tags.
func TestRuntime_BuildPrunesOldTags(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+testImage+"\nCOPY v.txt /v.txt\n")
	img := &model.Image{Name: "app", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	var tags []string
	for i := range keepTags + 2 {
		writeFile(t, filepath.Join(dir, "v.txt"), fmt.Sprintf("version %d\n", i))
		tag, err := r.buildImage(context.Background(), r.cli, project, img, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
	for i, tag := range tags {
		_, err := r.cli.ImageInspect(context.Background(), tag)
		if kept := i >= len(tags)-keepTags; kept != (err == nil) {
			t.Errorf("build %d (%s): kept=%v, want kept=%v (inspect: %v)", i, tag, err == nil, kept, err)
		}
	}
}

// killEvents lists the engine's kill events of container id since then.
func killEvents(t *testing.T, r *Runtime, id string, since time.Time) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, errs := r.cli.Events(ctx, events.ListOptions{
		Since:   strconv.FormatInt(since.Add(-time.Second).Unix(), 10),
		Until:   strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		Filters: filters.NewArgs(filters.Arg("container", id), filters.Arg("event", "kill")),
	})
	var kills []string
	for {
		select {
		case m := <-msgs:
			kills = append(kills, fmt.Sprintf("%s %v", m.Action, m.Actor.Attributes["signal"]))
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("events: %v", err)
			}
			return kills
		}
	}
}
