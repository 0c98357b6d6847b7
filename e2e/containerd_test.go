package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

// containerdSocket is Docker's own containerd, which the test machine has.
const containerdSocket = "/var/run/docker/containerd/containerd.sock"

// newContainerdEnv is a loopEnv whose loopd runs containers on containerd
// (LOOP_CONTAINER_RUNTIME=containerd) in a namespace of the test's own,
// holding baseImage, with named volumes under a data root of its own.
// Cleanup fails the test when the namespace cannot be removed because loop
// left a container or snapshot in it.
func newContainerdEnv(t *testing.T, name string) (*loopEnv, *client.Client, context.Context, string) {
	t.Helper()
	requireDocker(t)
	if _, err := os.Stat(containerdSocket); err != nil {
		t.Fatalf("no containerd socket beside the Docker engine: %v", err)
	}
	ns := "loop-e2e-" + name + "-" + strconv.Itoa(os.Getpid())
	cli, err := client.New(containerdSocket, client.WithDefaultNamespace(ns), client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("connect to containerd: %v", err)
	}
	ctx := namespaces.WithNamespace(context.Background(), ns)
	t.Cleanup(func() {
		defer cli.Close()
		ctrs, _ := cli.Containers(ctx)
		for _, c := range ctrs {
			t.Errorf("container %s left in namespace %s", c.ID(), ns)
			if task, err := c.Task(ctx, nil); err == nil {
				task.Delete(ctx, client.WithProcessKill)
			}
			c.Delete(ctx, client.WithSnapshotCleanup)
		}
		imgs, _ := cli.ImageService().List(ctx)
		for _, img := range imgs {
			cli.ImageService().Delete(ctx, img.Name)
		}
		cli.ContentStore().Walk(ctx, func(info content.Info) error {
			return cli.ContentStore().Delete(ctx, info.Digest)
		})
		if err := cli.NamespaceService().Delete(ctx, ns); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove namespace %s (something loop made is left in it?): %v", ns, err)
		}
	})
	save, err := exec.Command("docker", "save", baseImage).Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", baseImage, err)
	}
	if _, err := cli.Import(ctx, bytes.NewReader(save)); err != nil {
		t.Fatalf("import %s into containerd: %v", baseImage, err)
	}
	e := newEnv(t, projectName(name))
	dataRoot := t.TempDir()
	e.env = []string{"LOOP_CONTAINER_RUNTIME=containerd", "LOOP_CONTAINERD_ADDRESS=" + containerdSocket,
		"LOOP_CONTAINERD_NAMESPACE=" + ns, "LOOP_CONTAINERD_DATA_ROOT=" + dataRoot}
	t.Cleanup(func() { e.loop("down", "--volumes") })
	return e, cli, ctx, dataRoot
}

// TestContainerd_UpSyncVolumesDown: `loop up` with the containerd runtime:
// a synced edit restarts the service in place, `loop exec` reaches the
// container, a named volume keeps its data across `loop down` and is gone
// after `loop down --volumes`, and down leaves no container behind.
func TestContainerd_UpSyncVolumesDown(t *testing.T) {
	t.Parallel()
	e, cli, ctx, dataRoot := newContainerdEnv(t, "ctrd")
	e.write("src/msg.txt", "one\n")
	e.write("Loopfile", fmt.Sprintf(`
container("app", image = %q,
    cmd = ["sh", "-c", "cat /src/msg.txt; trap 'exit 0' TERM; sleep 1000 & wait"],
    sync = [sync("src", "/src")], on_change = [restart()],
    volumes = ["data:/data"], stop_timeout = "1s")
`, baseImage))
	e.up()
	if got := e.exec("app", "cat", "/src/msg.txt"); got != "one\n" {
		t.Errorf("/src/msg.txt = %q, want the synced file", got)
	}
	e.exec("app", "sh", "-c", "echo kept > /data/f")
	id := e.containerOf("app")

	e.write("src/msg.txt", "two\n")
	if !poll(2*time.Minute, func() bool { return e.loop("exec", "-T", "app", "--", "cat", "/src/msg.txt").stdout == "two\n" }) {
		t.Fatalf("the edit never reached the container: %s", e.loop("logs", "app"))
	}
	e.settled()
	if !poll(time.Minute, func() bool { return strings.Contains(e.loop("logs", "app").stdout, "two") }) {
		t.Errorf("the service did not restart with the edit: %s", e.loop("logs", "app"))
	}
	if got := e.containerOf("app"); got != id {
		t.Errorf("container %s became %s: replaced, not restarted in place", id, got)
	}

	e.mustLoop("down")
	if ctrs, err := cli.Containers(ctx); err != nil || len(ctrs) != 0 {
		t.Errorf("containers after `loop down`: %d, %v; want none", len(ctrs), err)
	}
	vols, _ := filepath.Glob(filepath.Join(dataRoot, "*", "volumes", "*", "*_data"))
	if len(vols) != 1 {
		t.Fatalf("named volumes after `loop down`: %q, want the project's one, kept", vols)
	}
	e.up()
	if got := e.exec("app", "cat", "/data/f"); got != "kept\n" {
		t.Errorf("/data/f after down and up = %q, want the volume's data", got)
	}
	e.mustLoop("down", "--volumes")
	if _, err := os.Stat(vols[0]); !os.IsNotExist(err) {
		t.Errorf("volume %s after `loop down --volumes`: %v, want it removed", vols[0], err)
	}
}
