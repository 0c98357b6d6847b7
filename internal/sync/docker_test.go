package sync

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/loopdev/loop/internal/model"
)

const testImage = "loop-test/busybox:latest"

// dockerTarget is a test-only Target over the real Docker engine: Copy is
// the engine's archive upload (no tar binary in the container); Delete runs
// busybox rm (the production runtime asks loop's supervisor instead).
type dockerTarget struct {
	cli *client.Client
	id  string
}

var _ Target = (*dockerTarget)(nil)

func (d *dockerTarget) Copy(ctx context.Context, r io.Reader) error {
	return d.cli.CopyToContainer(ctx, d.id, "/", r, container.CopyToContainerOptions{AllowOverwriteDirWithFile: true})
}

func (d *dockerTarget) Delete(ctx context.Context, paths []string) error {
	out, code, err := d.exec(ctx, "", append([]string{"rm", "-rf", "--"}, paths...)...)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("rm exited %d: %s", code, out)
	}
	return nil
}

// exec runs argv in the container and returns its combined output.
func (d *dockerTarget) exec(ctx context.Context, user string, argv ...string) (string, int, error) {
	created, err := d.cli.ContainerExecCreate(ctx, d.id, container.ExecOptions{Cmd: argv, User: user, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", 0, err
	}
	hj, err := d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", 0, err
	}
	defer hj.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, hj.Reader); err != nil {
		return "", 0, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		insp, err := d.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return "", 0, err
		}
		if !insp.Running {
			return out.String(), insp.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return "", 0, fmt.Errorf("exec %q still running after its output ended", argv)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline: the engine has no exec-exit event here
	}
}

// startBusybox runs the test image with `sleep 1000` and removes it at the
// end of the test. It skips without Docker, unless LOOP_REQUIRE_DOCKER=1.
func startBusybox(t testing.TB) *dockerTarget {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("docker required (LOOP_REQUIRE_DOCKER=1): "+format, args...)
		}
		t.Skipf("docker not available: "+format, args...)
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		unavailable("%v", err)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable("%v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx := t.Context()
	if _, err := cli.Ping(ctx); err != nil {
		unavailable("%v", err)
	}
	if _, err := cli.ImageInspect(ctx, testImage); err != nil {
		unavailable("image %s: %v (build it with scripts/)", testImage, err)
	}
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: testImage, Cmd: []string{"sleep", "1000"}, Labels: map[string]string{"dev.loop.test": t.Name()}},
		&container.HostConfig{}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container %s: %v", created.ID, err)
		}
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return &dockerTarget{cli: cli, id: created.ID}
}

func TestApply_docker(t *testing.T) {
	d := startBusybox(t)
	ctx := t.Context()
	root := tempRoot(t)
	write(t, root, map[string]string{
		"src/main.go":         "v1\n",
		"src/run.sh":          "#!/bin/sh\necho hi\n",
		"src/old.txt":         "old\n",
		"src/pkg/util/u.go":   "package util\n",
		"src/empty/":          "",
		"src/link":            "->main.go",
		"src/bad":             "->/etc/shadow",
		"src/.cache/skip.bin": "ignored",
		"config/app.yml":      "k: v\n",
	})
	src := filepath.Join(root, "src")
	if err := os.Chmod(filepath.Join(src, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := []model.SyncRule{
		{Local: src, Remote: "/app"},
		{Local: filepath.Join(root, "config", "app.yml"), Remote: "/etc/app/app.yml"},
	}
	opts := Options{Root: root, UID: 1000, GID: 1000, Ignore: func(p string, _ bool) bool { return filepath.Base(p) == ".cache" }}

	// First sync: the whole tree (this target cannot hash).
	st, err := Initial(ctx, d, rules, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initial: %+v", st)
	if len(st.Refused) != 1 || !strings.HasPrefix(st.Refused[0], filepath.Join(src, "bad")+": symlink to /etc/shadow") {
		t.Errorf("refused %q, want the link to /etc/shadow", st.Refused)
	}
	d.want(t, "cat /app/main.go /app/pkg/util/u.go /etc/app/app.yml", "v1\npackage util\nk: v\n")
	d.want(t, "stat -c '%u:%g %a %F' /app /app/main.go /app/run.sh /app/empty /app/pkg/util /app/link",
		"1000:1000 755 directory\n1000:1000 644 regular file\n1000:1000 755 regular file\n1000:1000 755 directory\n1000:1000 755 directory\n1000:1000 777 symbolic link\n")
	d.want(t, "readlink /app/link; cat /app/link", "main.go\nv1\n")
	d.want(t, "test -e /app/bad || echo refused; test -e /app/.cache || echo ignored", "refused\nignored\n")
	fi, err := os.Stat(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	d.want(t, "stat -c %Y /app/main.go", strconv.FormatInt(fi.ModTime().Unix(), 10)+"\n")
	// The container user (uid 1000) owns what was synced and can write it.
	if out, code, err := d.exec(ctx, "1000:1000", "sh", "-c", "echo more >> /app/main.go && touch /app/empty/x"); err != nil || code != 0 {
		t.Errorf("as uid 1000: exit %d, %v: %s", code, err, out)
	}

	// A batch: a changed file, a delete, a new tree reported as its root
	// only, a new symlink.
	write(t, root, map[string]string{
		"src/main.go":          "v2\n",
		"src/newdir/sub/f.txt": "f\n",
		"src/newdir/ln":        "->../main.go",
		"src/newdir/empty/":    "",
	})
	if err := os.Remove(filepath.Join(src, "old.txt")); err != nil {
		t.Fatal(err)
	}
	plan := NewPlan(rules, []string{filepath.Join(src, "main.go"), filepath.Join(src, "old.txt"), filepath.Join(src, "newdir")})
	start := time.Now()
	st, err = Apply(ctx, d, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("batch: %+v in %v", st, time.Since(start))
	if st.Files != 2 || st.Dirs != 3 || st.Links != 1 || st.Deleted != 1 {
		t.Errorf("stats %+v, want 2 files, 3 dirs, 1 link, 1 deleted", st)
	}
	d.want(t, "cat /app/main.go /app/newdir/sub/f.txt /app/newdir/ln", "v2\nf\nv2\n")
	d.want(t, "test -e /app/old.txt || echo deleted", "deleted\n")
	d.want(t, "stat -c '%u:%g %F' /app/newdir /app/newdir/sub /app/newdir/sub/f.txt /app/newdir/empty",
		"1000:1000 directory\n1000:1000 directory\n1000:1000 regular file\n1000:1000 directory\n")
	out, _, err := d.exec(ctx, "", "ls", "-lan", "/app", "/app/newdir")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ls -lan:\n%s", out)
	if !strings.Contains(out, "ln -> ../main.go") {
		t.Errorf("ls -lan shows no ln -> ../main.go:\n%s", out)
	}

	// One saved file, the common case: how long does it take end to end?
	var total time.Duration
	const saves = 20
	for i := range saves {
		write(t, root, map[string]string{"src/main.go": fmt.Sprintf("v%d\n", i+3)})
		start := time.Now()
		if _, err := Apply(ctx, d, NewPlan(rules, []string{filepath.Join(src, "main.go")}), opts); err != nil {
			t.Fatal(err)
		}
		total += time.Since(start)
	}
	t.Logf("one-file Apply into a real container: %v on average over %d saves", total/saves, saves)
	d.want(t, "cat /app/main.go", fmt.Sprintf("v%d\n", saves+2))
}

// want runs script with sh -c and checks its output.
func (d *dockerTarget) want(t *testing.T, script, want string) {
	t.Helper()
	out, code, err := d.exec(t.Context(), "", "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if code != 0 || out != want {
		t.Errorf("%s: exit %d, output\n%s\nwant\n%s", script, code, out, want)
	}
}

// BenchmarkApplyDocker10k: the 10,000-file burst into a real container,
// the engine's extraction included.
func BenchmarkApplyDocker10k(b *testing.B) {
	d := startBusybox(b)
	rules, changed, total := burst(b, 10_000)
	plan := NewPlan(rules, changed)
	opts := Options{Root: filepath.Dir(rules[0].Local), UID: 1000, GID: 1000}
	b.SetBytes(total)
	for b.Loop() {
		if _, err := Apply(b.Context(), d, plan, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(changed)), "ns/file")
}
