//go:build linux

package containerd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"github.com/loopdev/loop/internal/liveupdate/liveupdatetest"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

const testImage = "loop-test/busybox:latest"

// env is a containerd namespace holding the test image, and a supervisor
// when loopd has one.
type env struct {
	addr, ns   string
	cli        *client.Client
	supervisor string // a static loopd
	confDir    string // the CNI conf dir of the test's networks
	dataRoot   string // nerdctl's data store (hosts files, volumes)
}

// unavailable skips the test, or fails it when LOOP_REQUIRE_DOCKER=1.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
		t.Fatalf("containerd test needs Docker's containerd: %s", why)
	}
	t.Skipf("skipping: %s (set LOOP_REQUIRE_DOCKER=1 to fail instead)", why)
}

func setup(t *testing.T) *env {
	t.Helper()
	addr := os.Getenv("LOOP_CONTAINERD_ADDRESS")
	for _, a := range []string{"/var/run/docker/containerd/containerd.sock", DefaultAddress} {
		if addr == "" {
			if _, err := os.Stat(a); err == nil {
				addr = a
			}
		}
	}
	if addr == "" {
		unavailable(t, "no containerd socket (tried /var/run/docker/containerd/containerd.sock, "+DefaultAddress+", $LOOP_CONTAINERD_ADDRESS)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		unavailable(t, "no docker CLI to export "+testImage)
	}
	ns := "loop-test-" + strconv.Itoa(os.Getpid())
	cli, err := client.New(addr, client.WithDefaultNamespace(ns), client.WithTimeout(5*time.Second))
	if err != nil {
		unavailable(t, "connect to containerd at "+addr+": "+err.Error())
	}
	ctx := namespaces.WithNamespace(t.Context(), ns)
	if _, err := cli.Version(ctx); err != nil {
		cli.Close()
		unavailable(t, "containerd at "+addr+" does not answer: "+err.Error())
	}
	// Made before the cleanup is registered, so removed after it.
	e := &env{addr: addr, ns: ns, cli: cli, confDir: t.TempDir(), dataRoot: t.TempDir()}
	t.Cleanup(func() { e.cleanup(t) })
	if _, err := (&Runtime{}).cniPath(); err != nil {
		unavailable(t, err.Error()+" (scripts/setup-cni.sh)")
	}

	save := exec.Command("docker", "save", testImage)
	tarball, err := save.Output()
	if err != nil {
		unavailable(t, "docker save "+testImage+" (run scripts/test-images.sh): "+err.Error())
	}
	imgs, err := cli.Import(ctx, bytes.NewReader(tarball))
	if err != nil {
		t.Fatalf("import %s: %v", testImage, err)
	}
	if len(imgs) == 0 {
		t.Fatalf("import %s: no image", testImage)
	}
	e.supervisor = buildSupervisor(t)
	return e
}

// buildSupervisor builds a static loopd.
func buildSupervisor(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "loopd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/loopd")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loopd: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "__hash", "--", filepath.Join(t.TempDir(), "missing")).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("loopd __hash of a missing dir = %v, %q; want no output", err, out)
	}
	return bin
}

// cleanup removes everything created in the namespace and every project
// network of the test (Sweep), then the namespace.
func (e *env) cleanup(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), e.ns)
	defer e.cli.Close()
	rt := e.runtime()
	defer rt.Close()
	projects := map[string]bool{}
	ctrs, _ := e.cli.Containers(ctx)
	for _, c := range ctrs {
		labels, _ := c.Labels(ctx)
		projects[labels[LabelProject]] = true
	}
	lists, _ := readConfLists(e.confDir)
	for _, l := range lists {
		projects[l.Labels[LabelProject]] = true
	}
	for p := range projects {
		if p == "" {
			continue
		}
		if err := rt.Sweep(ctx, p); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	ctrs, _ = e.cli.Containers(ctx)
	for _, c := range ctrs {
		if err := rt.removeContainer(ctx, c, ""); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	is := e.cli.ImageService()
	list, _ := is.List(ctx)
	for _, img := range list {
		if err := is.Delete(ctx, img.Name, images.SynchronousDelete()); err != nil {
			t.Errorf("cleanup: delete image %s: %v", img.Name, err)
		}
	}
	if err := e.cli.NamespaceService().Delete(ctx, e.ns); err != nil {
		t.Errorf("cleanup: delete namespace %s: %v", e.ns, err)
	}
}

func (e *env) runtime() *Runtime {
	return &Runtime{Address: e.addr, Namespace: e.ns, Supervisor: e.supervisor, CNIConfPath: e.confDir, DataRoot: e.dataRoot}
}

// buffer is an io.Writer safe for concurrent use.
type buffer = liveupdatetest.Buffer

// poll calls cond until it returns true, failing after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// execOut runs argv in h and returns its exit code and output.
func execOut(t *testing.T, h runtime.Handle, argv ...string) (int, string) {
	t.Helper()
	var out buffer
	code, err := h.(runtime.Execer).Exec(t.Context(), runtime.ExecSpec{Argv: argv, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	return code, out.String()
}

func TestRuntime(t *testing.T) {
	e := setup(t)
	project := t.TempDir()
	src := filepath.Join(project, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "initial.txt"), []byte("initial\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr buffer
	spec := runtime.Spec{
		Name: "web", Project: "ctrdtest", ProjectDir: project,
		Env:    []string{"GREETING=hello"},
		Stdout: &stdout, Stderr: &stderr, StopTimeout: 2 * time.Second,
		Container: &model.Container{
			Image: testImage,
			Cmd: []string{"/bin/sh", "-c", `echo "$GREETING from container"; echo started >> /tmp/starts; echo oops >&2; ` +
				`trap "exit 0" TERM; sleep 1000 & wait`},
			Sync: []model.SyncRule{{Local: src, Remote: "/app"}},
			OnChange: []model.Step{
				{Cmd: []string{"/bin/sh", "-c", "cp /app/a.txt /tmp/copied"}, Trigger: []string{filepath.Join(src, "a.txt")}},
			},
		},
	}
	spec.Container.OnChange = append(spec.Container.OnChange, model.Step{Restart: true})
	rt := e.runtime()
	defer rt.Close()
	h, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer h.Stop(context.Background())
	id := containerID(spec.Project, spec.Name)

	poll(t, 10*time.Second, "the container's output", func() bool {
		return strings.Contains(stdout.String(), "hello from container\n") && strings.Contains(stderr.String(), "oops\n")
	})
	if h.Pid() <= 0 {
		t.Errorf("Pid() = %d, want > 0", h.Pid())
	}

	t.Run("exec", func(t *testing.T) {
		if code, out := execOut(t, h, "cat", "/tmp/starts"); code != 0 || out != "started\n" {
			t.Errorf("cat /tmp/starts = %d %q, want 0 %q", code, out, "started\n")
		}
		if code, out := execOut(t, h, "cat", "/app/initial.txt"); code != 0 || out != "initial\n" {
			t.Errorf("initial sync: cat /app/initial.txt = %d %q, want 0 %q", code, out, "initial\n")
		}
		if code, _ := execOut(t, h, "sh", "-c", "exit 3"); code != 3 {
			t.Errorf("exit code = %d, want 3", code)
		}
		var out buffer
		code, err := h.(runtime.Execer).Exec(t.Context(), runtime.ExecSpec{
			Argv: []string{"sh", "-c", "id -u; echo $GREETING $EXTRA; pwd; cat"}, User: "65534", Workdir: "/tmp",
			Env: []string{"EXTRA=x"}, Stdin: strings.NewReader("from stdin\n"), Stdout: &out, Stderr: &out,
		})
		want := "65534\nhello x\n/tmp\nfrom stdin\n"
		if err != nil || code != 0 || out.String() != want {
			t.Errorf("exec as 65534 = %d, %v, %q; want 0, nil, %q", code, err, out.String(), want)
		}
	})

	t.Run("update", func(t *testing.T) {
		u := h.(runtime.Updater)
		a := filepath.Join(src, "a.txt")
		b := filepath.Join(src, "sub", "b.txt")
		if err := os.WriteFile(a, []byte("v1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b, []byte("bee\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := u.Update(t.Context(), []string{a, b}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if code, out := execOut(t, h, "cat", "/app/a.txt", "/app/sub/b.txt", "/tmp/copied"); code != 0 || out != "v1\nbee\nv1\n" {
			t.Errorf("after copy: cat = %d %q, want 0 %q", code, out, "v1\nbee\nv1\n")
		}
		if code, out := execOut(t, h, "stat", "-c", "%a", "/app/sub/b.txt"); code != 0 || out != "600\n" {
			t.Errorf("mode of b.txt = %q, want 600", out)
		}
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := u.Update(t.Context(), []string{b}); err != nil {
			t.Fatalf("Update (delete): %v", err)
		}
		if code, _ := execOut(t, h, "test", "-e", "/app/sub/b.txt"); code != 1 {
			t.Errorf("b.txt still exists after its delete was synced")
		}
		outside := filepath.Join(project, "Loopfile")
		if err := u.Update(t.Context(), []string{outside}); !errors.Is(err, runtime.ErrRebuild) {
			t.Errorf("Update(outside every rule) = %v, want ErrRebuild", err)
		}
		defer func() {
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
		}()
		// Both updates that synced restarted the service in place.
		pid := h.Pid()
		poll(t, 10*time.Second, "two restarts in place", func() bool {
			_, out := execOut(t, h, "cat", "/tmp/starts")
			return out == "started\nstarted\nstarted\n"
		})
		if h.Pid() != pid {
			t.Errorf("Pid after restart in place = %d, want %d (the same container)", h.Pid(), pid)
		}
		select {
		case <-h.Done():
			t.Fatalf("the container exited on restart in place: %v", h.Exit())
		default:
		}
	})

	t.Run("adopt", func(t *testing.T) {
		var out2 buffer
		spec2 := spec
		spec2.Stdout, spec2.Stderr = &out2, &out2
		rt2 := e.runtime()
		defer rt2.Close()
		h2, err := rt2.Start(t.Context(), spec2)
		if err != nil {
			t.Fatalf("Start (adopt): %v", err)
		}
		if h2.Pid() != h.Pid() {
			t.Errorf("adopted Pid = %d, want the running task's %d", h2.Pid(), h.Pid())
		}
		if code, out := execOut(t, h2, "cat", "/app/a.txt"); code != 0 || out != "v1\n" {
			t.Errorf("adopted: cat /app/a.txt = %d %q", code, out)
		}
	})

	t.Run("stop", func(t *testing.T) {
		start := time.Now()
		if err := h.Stop(t.Context()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		select {
		case <-h.Done():
		default:
			t.Fatal("Done not closed after Stop")
		}
		if !h.Exit().Success() {
			t.Errorf("Exit = %v, want exited 0 (the trap)", h.Exit())
		}
		t.Logf("stopped in %s: %v", time.Since(start), h.Exit())
		ctx := namespaces.WithNamespace(t.Context(), e.ns)
		if _, err := e.cli.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("container %s after Stop: err = %v, want not found", id, err)
		}
		if _, err := e.cli.SnapshotService(DefaultSnapshotter).Stat(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("snapshot %s after Stop: err = %v, want not found", id, err)
		}
		if err := h.Stop(t.Context()); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})

	t.Run("exit", func(t *testing.T) {
		s := spec
		s.Name = "task"
		s.Container = &model.Container{Image: testImage, Cmd: []string{"sh", "-c", "echo bye; exit 7"}}
		var out buffer
		s.Stdout, s.Stderr = &out, &out
		h, err := rt.Start(t.Context(), s)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer h.Stop(context.Background())
		select {
		case <-h.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after the command exited")
		}
		if got := h.Exit(); got.Code != 7 || out.String() != "bye\n" {
			t.Errorf("Exit = %v, output %q; want exited 7, %q", got, out.String(), "bye\n")
		}
	})
}

func TestRuntime_Start_unsupported(t *testing.T) {
	rt := &Runtime{Address: "/nonexistent.sock", Supervisor: "/nonexistent"}
	tests := []struct {
		name  string
		c     model.Container
		files map[string]string
		want  string
	}{
		{"build", model.Container{Image: "app", Build: &model.Image{Name: "app", Dockerfile: "/p/Dockerfile"}}, nil, "build with the docker runtime or import the image"},
		{"features", model.Container{Image: "dev", Build: &model.Image{Name: "dev", Generated: &model.GeneratedContext{Dockerfile: "FROM x\n"}}}, nil, "image dev is built from the Dockerfile loop generates to install its devcontainer Features: the containerd runtime runs images already present"},
		{"relative volume target", model.Container{Image: "x", Volumes: []model.Volume{{Source: "data", Target: "data", Named: true}}}, nil, "the target must be an absolute path"},
		{"relative file", model.Container{Image: "x"}, map[string]string{"run/secrets/a": "v"}, `file "run/secrets/a": want a clean absolute path`},
		{"file with ..", model.Container{Image: "x"}, map[string]string{"/run/secrets/../../etc/passwd": "v"}, "want a clean absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rt.Start(t.Context(), runtime.Spec{Name: "r", Project: "p", Container: &tt.c, Files: tt.files})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestContainerID(t *testing.T) {
	tests := []struct{ project, resource, want string }{
		{"app", "web", "loop-app-web"},
		{"my app", "web/1", "loop-my-app-web-1"},
		{"a", strings.Repeat("x", 100), "loop-a-" + strings.Repeat("x", 69)},
	}
	for _, tt := range tests {
		if got := containerID(tt.project, tt.resource); got != tt.want {
			t.Errorf("containerID(%q, %q) = %q, want %q", tt.project, tt.resource, got, tt.want)
		}
	}
}

// mountsOf returns the mount points of pid's mount namespace with their
// filesystem types (from /proc/PID/mountinfo).
func mountsOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f, g := strings.Fields(pre), strings.Fields(post); ok && len(f) >= 5 && len(g) >= 1 {
			m[f[4]] = g[0]
		}
	}
	return m
}

// upperDir is the host directory that holds what the container wrote to
// its overlay snapshot.
func (e *env) upperDir(t *testing.T, id string) string {
	t.Helper()
	ctx := namespaces.WithNamespace(t.Context(), e.ns)
	ms, err := e.cli.SnapshotService(DefaultSnapshotter).Mounts(ctx, id)
	if err != nil {
		t.Fatalf("mounts of snapshot %s: %v", id, err)
	}
	for _, m := range ms {
		for _, o := range m.Options {
			if d, ok := strings.CutPrefix(o, "upperdir="); ok {
				return d
			}
		}
	}
	t.Fatalf("snapshot %s has no overlay upperdir: %+v", id, ms)
	return ""
}

// File secrets are in the container before its service starts, 0400 and
// owned by the container user, in a tmpfs (never in the snapshot on disk),
// rewritten on adoption, and gone with the container.
func TestRuntime_Files(t *testing.T) {
	e := setup(t)
	const value = "s3cret-value-7f3a"
	var stdout buffer
	spec := runtime.Spec{
		Name: "files", Project: "ctrdtest", ProjectDir: t.TempDir(),
		Stdout: &stdout, Stderr: &stdout, StopTimeout: 2 * time.Second,
		Files: map[string]string{"/run/secrets/token": value, "/etc/app/extra": "extra-value"},
		Container: &model.Container{
			Image: testImage, User: "dev",
			Cmd: []string{"/bin/sh", "-c", `if [ -r /run/secrets/token ]; then echo readable at start; fi; trap "exit 0" TERM; sleep 1000 & wait`},
		},
	}
	rt := e.runtime()
	defer rt.Close()
	h, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer h.Stop(context.Background())
	id := containerID(spec.Project, spec.Name)
	poll(t, 10*time.Second, "the service's output", func() bool { return strings.Contains(stdout.String(), "readable at start\n") })

	if code, out := execOut(t, h, "cat", "/run/secrets/token"); code != 0 || out != value {
		t.Errorf("cat /run/secrets/token as the container user = %d %q, want 0 %q", code, out, value)
	}
	for _, p := range []string{"/run/secrets/token", "/etc/app/extra"} {
		if code, out := execOut(t, h, "stat", "-c", "%a %u %g", p); code != 0 || out != "400 1000 1000\n" {
			t.Errorf("stat %s = %d %q, want mode 400 owned by dev (1000 1000)", p, code, out)
		}
	}
	var out buffer
	code, err := h.(runtime.Execer).Exec(t.Context(), runtime.ExecSpec{Argv: []string{"cat", "/run/secrets/token"}, User: "65534", Stdout: &out, Stderr: &out})
	if err != nil || code == 0 || strings.Contains(out.String(), value) {
		t.Errorf("cat /run/secrets/token as another user = %d, %v, %q; want it refused", code, err, out.String())
	}
	if got := mountsOf(t, h.Pid())["/run/secrets"]; got != "tmpfs" {
		t.Errorf("/run/secrets is mounted as %q, want tmpfs", got)
	}
	upper := e.upperDir(t, id)
	err = filepath.WalkDir(upper, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(value)) {
			t.Errorf("the secret value is on disk in the snapshot: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(upper, "etc", "app", "extra")); err != nil {
		t.Errorf("a file outside /run/secrets is not in the snapshot: %v", err)
	}

	// A restarted daemon adopts the running container and writes the
	// files again (the values are resolved again).
	spec2 := spec
	spec2.Files = map[string]string{"/run/secrets/token": value + "-2", "/etc/app/extra": "extra-value"}
	rt2 := e.runtime()
	defer rt2.Close()
	h2, err := rt2.Start(t.Context(), spec2)
	if err != nil {
		t.Fatalf("Start (adopt): %v", err)
	}
	if h2.Pid() != h.Pid() {
		t.Errorf("adopted Pid = %d, want the running task's %d", h2.Pid(), h.Pid())
	}
	if code, out := execOut(t, h2, "cat", "/run/secrets/token"); code != 0 || out != value+"-2" {
		t.Errorf("adopted: cat /run/secrets/token = %d %q, want 0 %q", code, out, value+"-2")
	}

	if err := h.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// containerd's garbage collector removes the snapshot's directory
	// shortly after the snapshot.
	poll(t, 30*time.Second, "the snapshot directory "+upper+" to go", func() bool {
		_, err := os.Stat(upper)
		return errors.Is(err, os.ErrNotExist)
	})
}

// Exec through the daemon's handle (runtime.Execer) and through
// Runtime.Exec, which `loop exec` uses from the CLI.
func TestRuntime_Exec(t *testing.T) {
	e := setup(t)
	spec := runtime.Spec{
		Name: "exec", Project: "ctrdtest", ProjectDir: t.TempDir(),
		Env: []string{"GREETING=hi"}, StopTimeout: 2 * time.Second,
		Container: &model.Container{
			Image: testImage, User: "dev", Workdir: "/home/dev", RemoteEnv: map[string]string{"REMOTE": "r"},
			Cmd: []string{"/bin/sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`},
		},
	}
	rt := e.runtime()
	defer rt.Close()
	h, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer h.Stop(context.Background())
	x := h.(runtime.Execer)
	id := containerID(spec.Project, spec.Name)
	if got := h.(interface{ ContainerID() string }).ContainerID(); got != id {
		t.Errorf("ContainerID() = %q, want %q", got, id)
	}

	tests := []struct {
		name             string
		spec             runtime.ExecSpec
		code             int
		wantOut, wantErr string
	}{
		{"defaults", runtime.ExecSpec{Argv: []string{"sh", "-c", "id -u; pwd; echo $GREETING $REMOTE"}}, 0, "1000\n/home/dev\nhi r\n", ""},
		{"user by name, workdir, env", runtime.ExecSpec{Argv: []string{"sh", "-c", "id -u; pwd; echo $GREETING $REMOTE"}, User: "root", Workdir: "/tmp", Env: []string{"REMOTE=over", "GREETING=hey"}}, 0, "0\n/tmp\nhey over\n", ""},
		{"stdin to stdout, stderr apart", runtime.ExecSpec{Argv: []string{"sh", "-c", "cat; echo oops >&2"}, Stdin: strings.NewReader("a\nb\n")}, 0, "a\nb\n", "oops\n"},
		{"exit code", runtime.ExecSpec{Argv: []string{"sh", "-c", "echo bye; exit 42"}}, 42, "bye\n", ""},
		{"tty", runtime.ExecSpec{Argv: []string{"sh", "-c", "test -t 0 && test -t 1 && echo tty"}, TTY: true}, 0, "tty\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb buffer
			s := tt.spec
			s.Stdout, s.Stderr = &out, &errb
			code, err := x.Exec(t.Context(), s)
			if err != nil || code != tt.code || out.String() != tt.wantOut || errb.String() != tt.wantErr {
				t.Errorf("Exec = %d, %v, stdout %q, stderr %q; want %d, nil, %q, %q", code, err, out.String(), errb.String(), tt.code, tt.wantOut, tt.wantErr)
			}
		})
	}

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var out buffer
		errc := make(chan error, 1)
		go func() {
			_, err := x.Exec(ctx, runtime.ExecSpec{Argv: []string{"sh", "-c", "echo started; exec sleep 997"}, Stdout: &out})
			errc <- err
		}()
		poll(t, 10*time.Second, "the exec to start", func() bool { return out.String() == "started\n" })
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Exec after cancel = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Exec did not return after its context was cancelled")
		}
		if _, ps := execOut(t, h, "ps"); strings.Contains(ps, "sleep 997") {
			t.Errorf("the cancelled command still runs:\n%s", ps)
		}
	})

	t.Run("from the CLI", func(t *testing.T) {
		// While the daemon's handle runs an exec, the CLI's runs another.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var out buffer
		busy := make(chan error, 1)
		go func() {
			_, err := x.Exec(ctx, runtime.ExecSpec{Argv: []string{"sh", "-c", "echo started; exec sleep 996"}, Stdout: &out})
			busy <- err
		}()
		poll(t, 10*time.Second, "the handle's exec to start", func() bool { return out.String() == "started\n" })
		cliRT := e.runtime()
		defer cliRT.Close()
		var cout buffer
		code, err := cliRT.Exec(t.Context(), id, runtime.ExecSpec{
			Argv: []string{"sh", "-c", "id -u; pwd; echo $X; cat"}, User: "dev", Workdir: "/tmp", Env: []string{"X=1"},
			Stdin: strings.NewReader("in\n"), Stdout: &cout, Stderr: &cout,
		})
		if want := "1000\n/tmp\n1\nin\n"; err != nil || code != 0 || cout.String() != want {
			t.Errorf("Runtime.Exec = %d, %v, %q; want 0, nil, %q", code, err, cout.String(), want)
		}
		code, err = cliRT.Exec(t.Context(), id, runtime.ExecSpec{Argv: []string{"sh", "-c", "exit 5"}})
		if err != nil || code != 5 {
			t.Errorf("Runtime.Exec(exit 5) = %d, %v; want 5, nil", code, err)
		}
		if _, err := cliRT.Exec(t.Context(), "loop-ctrdtest-missing", runtime.ExecSpec{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "no such container in containerd namespace "+e.ns) {
			t.Errorf("Runtime.Exec(missing container) = %v, want an error naming the namespace", err)
		}
		cancel()
		if err := <-busy; !errors.Is(err, context.Canceled) {
			t.Errorf("the handle's exec = %v, want context.Canceled", err)
		}
	})

	if err := h.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := x.Exec(t.Context(), runtime.ExecSpec{Argv: []string{"true"}}); !errors.Is(err, errStopped) {
		t.Errorf("Exec after Stop = %v, want %v", err, errStopped)
	}
}

// TestRuntime_NamedVolumes: a named volume starts as a copy of what the
// image has at its mount point (owners kept), outlives its container, is
// the project's own, lives in nerdctl's layout, and `loop down --volumes`
// (RemoveVolumes) removes only the project's.
func TestRuntime_NamedVolumes(t *testing.T) {
	e := setup(t)
	rt := e.runtime()
	rt.DataRoot = t.TempDir()
	defer rt.Close()
	spec := func(project, env string) runtime.Spec {
		return runtime.Spec{
			Name: "vol", Project: project, ProjectDir: t.TempDir(), StopTimeout: 2 * time.Second,
			Env: []string{"RUN=" + env},
			Container: &model.Container{
				Image:   testImage,
				Cmd:     []string{"/bin/sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`},
				Volumes: []model.Volume{{Source: "home", Target: "/home", Named: true}},
			},
		}
	}
	start := func(s runtime.Spec) runtime.Handle {
		t.Helper()
		h, err := rt.Start(t.Context(), s)
		if err != nil {
			t.Fatalf("Start %s: %v", s.Project, err)
		}
		t.Cleanup(func() { h.Stop(context.Background()) })
		return h
	}

	h := start(spec("volp", "1"))
	if code, out := execOut(t, h, "stat", "-c", "%u %g", "/home/dev"); code != 0 || out != "1000 1000\n" {
		t.Errorf("stat /home/dev in a new volume = %d %q, want the image's directory owned by 1000", code, out)
	}
	if code, out := execOut(t, h, "sh", "-c", "echo kept > /home/dev/note"); code != 0 {
		t.Fatalf("write into the volume: %d %q", code, out)
	}
	store := filepath.Join(rt.DataRoot, hashPrefix(e.addr), "volumes", e.ns)
	if b, err := os.ReadFile(filepath.Join(store, "volp_home", "_data", "dev", "note")); err != nil || string(b) != "kept\n" {
		t.Errorf("the volume on the host (nerdctl's layout) = %q, %v", b, err)
	}
	if err := h.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A changed configuration replaces the container; the volume stays.
	h = start(spec("volp", "2"))
	if code, out := execOut(t, h, "cat", "/home/dev/note"); code != 0 || out != "kept\n" {
		t.Errorf("the volume after the container was replaced = %d %q, want what was written", code, out)
	}
	// Another project's volume of the same name is its own.
	q := start(spec("volq", "1"))
	if code, out := execOut(t, q, "ls", "/home/dev"); code != 0 || out != "" {
		t.Errorf("another project's volume = %d %q, want a fresh copy of the image's /home", code, out)
	}

	// A volume of that name loop did not make for the project is refused.
	foreign := filepath.Join(store, "volr_home")
	if err := os.MkdirAll(filepath.Join(foreign, "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "volume.json"), []byte(`{"labels": {"owner": "nerdctl"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Start(t.Context(), spec("volr", "1")); err == nil || !strings.Contains(err.Error(), "was not made by loop for project volr") {
		t.Errorf("Start with a foreign volume of that name = %v, want it refused", err)
	}

	if err := rt.RemoveVolumes(t.Context(), "volp"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"volp_home": false, "volq_home": true, "volr_home": true} {
		if _, err := os.Stat(filepath.Join(store, name)); (err == nil) != want {
			t.Errorf("after RemoveVolumes(volp): %s exists = %v, want %v", name, err == nil, want)
		}
	}
}

// hashPrefix is nerdctl's <ADDRHASH> for addr, as the runtime computes it.
func hashPrefix(addr string) string {
	return (&Runtime{Address: addr}).addressHash()
}
