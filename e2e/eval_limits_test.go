//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoopfile_BombsAreIsolated: one loopd runs two projects; the Loopfile
// of one is edited into each bomb of issue 11 (memory, output, a device, a
// FIFO, a killed evaluator). Each is a Loopfile error at its line naming
// the limit; the other project's service answers throughout, loopd stays
// small, and `loop down` of the bombed project returns at once.
func TestLoopfile_BombsAreIsolated(t *testing.T) {
	t.Parallel()
	calm := newEnv(t, "calm")
	calmPort := freePort(t)
	calm.write("Loopfile", fmt.Sprintf(`service("web", cmd = %s, env = {"PORT": "%d"}, readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), calmPort, calmPort))
	calm.up()

	// The second project shares calm's daemon (its LOOP_HOME).
	dir := filepath.Join(t.TempDir(), "bomb")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bomb := &loopEnv{t: t, home: calm.home, dir: dir}
	bombPort := freePort(t)
	good := fmt.Sprintf(`service("api", cmd = %s, env = {"PORT": "%d"}, readiness = http_probe("http://127.0.0.1:%d/"))
`, serverCmd(), bombPort, bombPort)
	bomb.write("Loopfile", good)
	bomb.up()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	loopfile := filepath.Join(dir, "Loopfile")

	for _, tc := range []struct {
		name, src string
		line      int // of the error, counted in good + src
		want      string
	}{
		{"memory", "X = \"x\" * (1 << 29)\nY = X + X\n", 2, "over the limit of 512 MiB (LOOP_EVAL_MEMORY)"},
		{"local output", "local(\"yes\", quiet = True)\n", 2, "the limit of 16 MiB (MaxLocalOutput)"},
		{"device", "x = read_file(\"/dev/zero\")\n", 2, "/dev/zero is a character device, not a regular file"},
		{"FIFO", "x = read_file(\"fifo\")\n", 2, "fifo is a named pipe (FIFO), not a regular file"},
		{"killed evaluator", "local(\"kill -9 $PPID\")\n", 0, "the evaluator was killed by signal 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bomb.write("Loopfile", good+tc.src)
			r := bomb.loop("wait", "--timeout", "60s")
			loc := loopfile + ":"
			if tc.line > 0 {
				loc += strconv.Itoa(tc.line) + ":"
			}
			if r.code != 1 || !strings.Contains(r.stderr, loc) || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("loop wait: want exit 1 and an error at %s saying %q; got %s", loc, tc.want, r)
			}
			// The bombed project runs on with its last good configuration,
			// and so does the other one.
			mustGet(t, bombPort, "ok\n")
			mustGet(t, calmPort, "ok\n")
		})
	}
	if rss := vmRSS(t, calm.daemonPid()); rss > 300<<20 {
		t.Errorf("loopd's VmRSS is %d MiB after the bombs, want under 300 MiB", rss>>20)
	}

	// `loop down` while an evaluation is stuck in a local() command: at once.
	bomb.write("Loopfile", good+"local(\"sleep 600.25\")\n")
	if !poll(10*time.Second, func() bool { return len(processes("sleep", "600.25")) > 0 }) {
		t.Fatal("the evaluation of the edited Loopfile did not start")
	}
	start := time.Now()
	bomb.mustLoop("down")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("loop down took %s during an evaluation", d)
	}
	if !poll(5*time.Second, func() bool { return len(processes("sleep", "600.25")) == 0 }) {
		t.Errorf("the evaluation's local() command outlived loop down: %s", describeProcs(processes("sleep", "600.25")))
	}
	mustGet(t, calmPort, "ok\n")
}

// vmRSS reads a process's resident memory from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// processes lists the live processes whose command line is argv.
func processes(argv ...string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	var pids []int
	for _, st := range allProcs() {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(st.pid) + "/cmdline")
		if err == nil && string(b) == want && st.state != 'Z' {
			pids = append(pids, st.pid)
		}
	}
	return pids
}
