//go:build linux

package e2e

// The chaos suite: loopd killed at the worst moments, Docker objects
// removed behind its back, hostile output. Each test ends with loop down
// and the harness checking that nothing is left (processes, containers,
// networks). scripts/chaos.sh runs this suite with CPU and I/O stress
// beside it.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
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
service("noisy", cmd = "while [ ! -e go ]; do sleep 0.05; done; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); printf 'line %05d %0900d\n' $i 0; done; echo noisy-done; exec sleep 100000")
task("late", cmd = "echo after-the-disk-was-freed", auto_start = False)
`)
	e.mustLoop("up", "-d")
	// Ballast: the rest of the disk, minus a little, so the service's
	// 2.7 MB of output, which it writes once the ballast is in place,
	// fills it.
	ballast := filepath.Join(e.home, "ballast")
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.home, &st); err != nil {
		t.Fatal(err)
	}
	if free := int64(st.Bavail)*int64(st.Bsize) - 256<<10; free > 0 {
		// loopd writes too meanwhile: a ballast cut short by a full
		// disk has done its job.
		if err := os.WriteFile(ballast, make([]byte, free), 0o600); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("ballast: %v", err)
		}
	}
	// Only now does the service write its output (it waits for the file
	// go, in the project directory, which is not on the full disk).
	e.write("go", "")
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

// TestChaos_LongLines: services print lines of 64 KiB - 1, 64 KiB and
// 64 KiB + 1 bytes, in pieces (32,768 + 32,768 without a newline killed
// loopd once), one with a secret value across the 64 KiB cut, one with
// no final newline; local() prints one during evaluation. loopd stays up,
// every byte is kept (long lines split, never dropped), the value never
// shows, and the last unterminated line is kept too.
func TestChaos_LongLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "longlines")
	const secretValue = "s3cr3t-ACROSS-the-cut-9f2e"
	// gen N C: N bytes of the character C, without a newline, written in
	// two halves (dd: one write(2) per block).
	e.write("gen.sh", `#!/bin/sh
half=$(($1 / 2))
head -c $half /dev/zero | tr '\0' "$2"
head -c $(($1 - half)) /dev/zero | tr '\0' "$2"
`)
	e.write("Loopfile", `
print(local("sh gen.sh 65536 e; echo"))
task("lines", cmd = "for n in 65535 65536 65537 131072; do sh gen.sh $n x; echo; done; echo lines-done")
task("leak", cmd = "sh gen.sh 65530 y; printf '%s' \"$TOKEN\"; echo; echo leak-done", env = {"TOKEN": secret("token", from_env = "LOOP_TEST_CUT_TOKEN")})
task("tail", cmd = "echo first; printf 'no-newline-at-the-end'")
`)
	pid0 := 0
	if r := e.loopWith([]string{"LOOP_TEST_CUT_TOKEN=" + secretValue}, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up: %s", r)
	}
	pid0 = e.daemonPid()
	e.settled()
	if pid := e.daemonPid(); pid != pid0 || !alive(pid) {
		t.Fatalf("loopd changed from %d to %d (alive %v)", pid0, pid, alive(pid))
	}

	var lines []api.LogLine
	if err := e.client().Logs(context.Background(), "longlines", api.LogsQuery{}, func(l api.LogLine) error {
		lines = append(lines, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	text := map[string][]string{}
	for _, l := range lines {
		if l.Stream != "loop" || l.Resource == "" { // evaluation output is the project's "loop" stream
			text[l.Resource] = append(text[l.Resource], l.Text)
		}
		if len(l.Text) > 64<<10 {
			t.Errorf("%s: a stored line of %d bytes, over 64 KiB", l.Resource, len(l.Text))
		}
		if strings.Contains(l.Text, secretValue) || strings.Contains(l.Text, secretValue[:10]) && l.Resource == "leak" {
			t.Errorf("%s: the secret (or its start) is in a log line: %.80q...", l.Resource, l.Text[max(0, len(l.Text)-80):])
		}
	}
	// "lines": the pieces of each line add up to its length; none lost.
	var got []int
	run := 0
	for _, s := range text["lines"] {
		if s == "lines-done" {
			break
		}
		run += len(s)
		if len(s) < 64<<10 { // a line's last piece
			got = append(got, run)
			run = 0
		}
	}
	// 65536 and 131072 end on a full piece: their last piece is a full
	// 64 KiB one followed by an empty remainder, or the next line.
	if total := sum(got) + run; total != 65535+65536+65537+131072 {
		t.Errorf("lines: %d bytes stored, want %d (pieces %v)", total, 65535+65536+65537+131072, got)
	}
	leak := strings.Join(text["leak"], "")
	if !strings.Contains(leak, "[redacted:token]") || !strings.Contains(leak, "leak-done") {
		t.Errorf("leak: want [redacted:token] and leak-done across the cut, got ...%q", leak[max(0, len(leak)-200):])
	}
	if tl := text["tail"]; len(tl) != 2 || tl[1] != "no-newline-at-the-end" {
		t.Errorf("tail: got %q, want the unterminated last line kept", tl)
	}
	ev := strings.Join(text[""], "")
	if n := strings.Count(ev, "e"); n < 65536 {
		t.Errorf("local() output: %d of 65536 bytes in the project log", n)
	}
	// The secret is nowhere on disk either.
	files, _ := filepath.Glob(filepath.Join(e.home, "projects", "*", "logs", "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(secretValue)) || bytes.Contains(b, []byte(secretValue[:10])) {
			t.Errorf("%s holds the secret or its start", f)
		}
	}
	if st := e.status(); st.Name != "longlines" {
		t.Errorf("status: %+v", st)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestChaos_ManyLoggers: 50 services print 20,000 lines each as fast as
// they can, beside a quiet one that printed 5. loopd stays responsive and
// bounded in memory, every service keeps its own last lines (a noisy one
// never erases a quiet one), while up, after loop down and after a daemon
// restart; down leaves no process.
func TestChaos_ManyLoggers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "loggers")
	var lf strings.Builder
	lf.WriteString(`service("quiet", cmd = "for i in 1 2 3 4 5; do echo quiet-$i; done; exec sleep 100000")` + "\n")
	for i := range 50 {
		fmt.Fprintf(&lf, "service(\"noisy%02d\", cmd = \"seq -f 'noisy%02d line %%g' 1 20000; echo noisy%02d-done; exec sleep 100000\")\n", i, i, i)
	}
	e.write("Loopfile", lf.String())
	e.up()
	pid := e.daemonPid()
	c := e.client()
	done := func() bool {
		found := 0
		err := c.Logs(context.Background(), "loggers", api.LogsQuery{Grep: "-done$"}, func(l api.LogLine) error {
			found++
			return nil
		})
		return err == nil && found == 50
	}
	if !poll(120*time.Second, done) {
		t.Fatalf("not every service's last line is in loop logs")
	}
	rss := vmRSS(t, pid)
	t.Logf("loopd VmRSS after 1,000,000 lines: %d MiB", rss>>20)
	if rss > 300<<20 {
		t.Errorf("loopd VmRSS %d MiB after 1,000,000 lines, want < 300 MiB", rss>>20)
	}
	quiet := func(when string) {
		t.Helper()
		out := e.loop("logs", "quiet").stdout
		for i := 1; i <= 5; i++ {
			if !strings.Contains(out, fmt.Sprintf("quiet-%d", i)) {
				t.Fatalf("%s: loop logs quiet lost quiet-%d:\n%s", when, i, out)
			}
		}
	}
	quiet("while up")
	e.mustLoop("down")
	quiet("after loop down")
	e.mustLoop("daemon", "stop")
	quiet("after a daemon restart")
}
