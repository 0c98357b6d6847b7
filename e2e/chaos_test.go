package e2e

// The chaos suite: loopd killed at the worst moments, Docker objects
// removed behind its back, hostile output. Each test ends with loop down
// and the harness checking that nothing is left (processes, containers,
// networks). scripts/chaos.sh runs this suite with CPU and I/O stress
// beside it.

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loopdev/loop/api"
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

// mountTmpfs mounts a tmpfs of size on dir (as root; the test skips
// otherwise, or fails when LOOP_REQUIRE_DOCKER=1, as in CI). Cleanup stops
// the test's daemon first, then unmounts.
func mountTmpfs(t *testing.T, e *loopEnv, dir, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("mount a %s tmpfs on %s (CI runs as root): %v", size, dir, err)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		e.loop("daemon", "stop")
		if err := syscall.Unmount(dir, 0); err != nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// TestChaos_DiskFull: LOOP_HOME on a full disk. loopd keeps running its
// services and keeps their output in memory; `loop status` and `loop
// doctor` say that the logs cannot be written and why; once space is
// freed, writing resumes by itself (no restart): the lines that waited in
// memory and new ones reach the files, and no line is torn.
func TestChaos_DiskFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "diskfull")
	mountTmpfs(t, e, e.home, "8m")
	e.write("Loopfile", `
service("noisy", cmd = "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); printf 'line %05d %0900d\n' $i 0; done; echo noisy-done; exec sleep 100000")
task("late", cmd = "echo after-the-disk-was-freed", auto_start = False)
`)
	e.mustLoop("up", "-d")
	// Ballast: the rest of the disk, minus a little, so the service's
	// 2.7 MB of output fills it.
	ballast := filepath.Join(e.home, "ballast")
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.home, &st); err != nil {
		t.Fatal(err)
	}
	if free := int64(st.Bavail)*int64(st.Bsize) - 256<<10; free > 0 {
		if err := os.WriteFile(ballast, make([]byte, free), 0o600); err != nil {
			t.Fatalf("ballast: %v", err)
		}
	}
	var p api.Project
	if !poll(60*time.Second, func() bool { p = e.status(); return len(p.Problems) > 0 }) {
		t.Fatalf("loop status shows no problem while the disk is full: %+v", p)
	}
	if msg := p.Problems[0].Message; p.Problems[0].Component != "logs" || !strings.Contains(msg, "no space left") {
		t.Errorf("problem = %+v, want logs: ... no space left on device", p.Problems[0])
	}
	if out := e.loop("status").stdout; !strings.Contains(out, "no space left") {
		t.Errorf("loop status does not say the logs cannot be written:\n%s", out)
	}
	if out := e.loop("doctor").stdout; !strings.Contains(out, "no space left") {
		t.Errorf("loop doctor does not report the full disk:\n%s", out)
	}
	// The portal shows it, and takes it away when writing resumes.
	ctx := browser(t)
	banner := `document.querySelector('[data-banner="diskfull"] [data-problem=logs]')`
	step(t, ctx, "see the logs problem in the portal", chromedp.Navigate(e.loginURL()),
		until(banner+`?.textContent.includes('no space left') === true`))
	// Memory still has the output: loop logs shows the last line.
	if !poll(60*time.Second, func() bool { return strings.Contains(e.loop("logs", "noisy", "--tail", "5").stdout, "noisy-done") }) {
		t.Fatalf("loop logs does not show the service's output while the disk is full:\n%s", e.loop("logs", "noisy", "--tail", "5"))
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	e.mustLoop("trigger", "late")
	if !poll(60*time.Second, func() bool { return len(e.status().Problems) == 0 }) {
		t.Fatalf("the problem stays after space was freed: %+v", e.status().Problems)
	}
	step(t, ctx, "see the problem leave the portal", until(banner+` === null`))
	logs, _ := filepath.Glob(filepath.Join(e.home, "projects", "*", "logs", "*.log"))
	var late, noisy []byte
	if !poll(60*time.Second, func() bool {
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			switch filepath.Base(f) {
			case "late.log":
				late = b
			case "noisy.log":
				noisy = b
			}
		}
		return bytes.Contains(late, []byte("after-the-disk-was-freed")) && bytes.Contains(noisy, []byte("noisy-done"))
	}) {
		t.Fatalf("writing did not resume after space was freed:\nlate.log: %s\nnoisy.log tail: %s", late, tail(noisy, 2000))
	}
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if !json.Valid(line) {
				t.Errorf("%s line %d is torn: %q", filepath.Base(f), i+1, tail(line, 200))
			}
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
