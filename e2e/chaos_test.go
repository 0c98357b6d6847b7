package e2e

// The chaos suite: loopd killed at the worst moments, Docker objects
// removed behind its back, hostile output. Each test ends with loop down
// and the harness checking that nothing is left (processes, containers,
// networks). scripts/chaos.sh runs this suite with CPU and I/O stress
// beside it.

import (
	"crypto/md5"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upperDir is the host directory of a container's writable layer
// (overlay2), where synced files land: the test watches it to kill loopd
// while a sync is under way, without an exec per look.
func upperDir(t *testing.T, id string) string {
	t.Helper()
	dir := mustDocker(t, "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", id)
	if !filepath.IsAbs(dir) {
		t.Skipf("the engine's storage driver has no upper dir (%q): cannot watch a sync from the host", dir)
	}
	return dir
}

func countFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// TestChaos_KillDuringSync: loopd is killed -9 while it syncs a burst of
// 5,000 new files into a running container. The next `loop up` adopts the
// container and its initial sync (by content hash) brings it to exactly
// the host's tree: every file there, none torn; `loop down` leaves
// nothing.
func TestChaos_KillDuringSync(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t, "chaossync")
	e.write("Dockerfile", "FROM "+baseImage+"\n")
	e.write(".dockerignore", "src\n") // the burst changes no image: the container is adopted
	e.write("src/seed.txt", "seed")
	e.write("Loopfile", `
image("img", context = ".")
container("app", image = "img", cmd = ["sleep", "1000000"],
          sync = [sync("src", "/app/src")])
`)
	e.up()
	id := e.containerOf("app")
	dst := filepath.Join(upperDir(t, id), "app", "src")

	const n = 5000
	content := func(i int) string { return strings.Repeat(strconv.Itoa(i)+" ", 200) }
	for i := range n {
		e.write(fmt.Sprintf("src/f%04d.txt", i), content(i))
	}
	// Kill as soon as the first synced file lands, while the rest stream.
	if !poll(60*time.Second, func() bool { return countFiles(dst) > 1 }) {
		t.Fatalf("no new file reached the container within 60s")
	}
	landed := countFiles(dst) - 1
	e.killDaemon()
	t.Logf("loopd killed with %d of %d files in the container", landed, n)

	e.up() // a new loopd adopts the container and syncs what is missing
	if got := e.containerOf("app"); got != id {
		t.Errorf("after the restart the container is %.12s, want the adopted %.12s", got, id)
	}
	out := e.exec("app", "sh", "-c", "ls /app/src | wc -l; cat /app/src/f0000.txt /app/src/f4999.txt | wc -c; md5sum /app/src/f*.txt | md5sum")
	lines := strings.Fields(out)
	if len(lines) < 3 || lines[0] != strconv.Itoa(n+1) {
		t.Fatalf("container holds %q files after the restart, want %d:\n%s", lines, n+1, out)
	}
	if wantBytes := len(content(0)) + len(content(4999)); lines[1] != strconv.Itoa(wantBytes) {
		t.Errorf("first and last file hold %s bytes, want %d (torn by the kill?)", lines[1], wantBytes)
	}
	// Every file's content, compared through one digest of digests.
	var sums strings.Builder
	for i := range n {
		fmt.Fprintf(&sums, "%x  /app/src/f%04d.txt\n", md5.Sum([]byte(content(i))), i)
	}
	if host := fmt.Sprintf("%x", md5.Sum([]byte(sums.String()))); lines[2] != host {
		t.Errorf("container's files differ from the host's after the restart (digest %s, host %s)", lines[2], host)
	}
	e.mustLoop("down")
	if left := projectContainers(t, filepath.Base(e.dir)); len(left) > 0 {
		t.Errorf("after loop down, containers are left: %v", left)
	}
}
