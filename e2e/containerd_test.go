//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

// containerdSocket is Docker's own containerd, which the test machine has.
const containerdSocket = "/var/run/docker/containerd/containerd.sock"

// newContainerdEnv is a loopEnv whose loopd runs containers on containerd
// (LOOP_CONTAINER_RUNTIME=containerd) in a namespace of the test's own,
// holding baseImage, with named volumes and hosts files under a data root
// of its own and project networks' conflists in a CNI conf dir of its own.
// Cleanup fails the test when the namespace cannot be removed because loop
// left a container or snapshot in it.
func newContainerdEnv(t *testing.T, name string) (e *loopEnv, cli *client.Client, ctx context.Context, dataRoot, confDir string) {
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
	ctx = namespaces.WithNamespace(context.Background(), ns)
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
			// Synchronous: the image's snapshots go before the namespace.
			cli.ImageService().Delete(ctx, img.Name, images.SynchronousDelete())
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
	e = newEnv(t, projectName(name))
	dataRoot, confDir = t.TempDir(), t.TempDir()
	e.env = []string{"LOOP_CONTAINER_RUNTIME=containerd", "LOOP_CONTAINERD_ADDRESS=" + containerdSocket,
		"LOOP_CONTAINERD_NAMESPACE=" + ns, "LOOP_CONTAINERD_DATA_ROOT=" + dataRoot, "LOOP_CNI_NETCONFPATH=" + confDir}
	t.Cleanup(func() { e.loop("down", "--volumes") })
	return e, cli, ctx, dataRoot, confDir
}

// TestContainerd_UpSyncVolumesDown: `loop up` with the containerd runtime:
// a synced edit restarts the service in place, `loop exec` reaches the
// container, a second container reaches the first by its resource name on
// the project network, a remapped published port answers on the host (the
// readiness probe goes through it), a named volume keeps its data across
// `loop down` and is gone after `loop down --volumes`, and down leaves no
// container and no network behind.
func TestContainerd_UpSyncVolumesDown(t *testing.T) {
	t.Parallel()
	e, cli, ctx, dataRoot, confDir := newContainerdEnv(t, "ctrd")
	port := freePort(t)
	e.write("src/msg.txt", "one\n")
	e.write("Loopfile", fmt.Sprintf(`
container("app", image = %[1]q,
    cmd = ["sh", "-c", "cat /src/msg.txt; mkdir -p /www; hostname > /www/index.html; httpd -f -p 8080 -h /www & trap 'exit 0' TERM; sleep 1000 & wait"],
    sync = [sync("src", "/src")], on_change = [restart()],
    volumes = ["data:/data"], stop_timeout = "1s",
    ports = ["%[2]d:8080"], readiness = http_probe("http://127.0.0.1:%[2]d/"))

container("peer", image = %[1]q,
    cmd = ["sh", "-c", "until printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 app 8080 | grep -qx app; do sleep 0.2; done; echo reached app by name; trap 'exit 0' TERM; sleep 1000 & wait"],
    stop_timeout = "1s")
`, baseImage, port))
	e.up()
	if !poll(time.Minute, func() bool { return strings.Contains(e.loop("logs", "peer").stdout, "reached app by name") }) {
		t.Errorf("peer never reached app by name: %s", e.loop("logs", "peer"))
	}
	if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err != nil {
		t.Errorf("GET the published port %d: %v", port, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "app\n" {
			t.Errorf("GET the published port %d = %q, want app's hostname", port, b)
		}
	}
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
	if lists, _ := filepath.Glob(filepath.Join(confDir, "*")); len(lists) != 0 {
		t.Errorf("CNI conf dir after `loop down`: %q, want the project network removed", lists)
	}
	if hosts, _ := filepath.Glob(filepath.Join(dataRoot, "*", "etchosts", "*", "*")); len(hosts) != 0 {
		t.Errorf("hosts files after `loop down`: %q, want none", hosts)
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
