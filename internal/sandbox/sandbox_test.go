//go:build linux

package sandbox

// These tests run real evaluators: Load re-executes this test binary, whose
// TestMain dispatches Arg to Main.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
)

// writeProject writes files (relative path -> contents) to a temp dir and
// returns the path of its Loopfile.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "Loopfile")
}

func baseOptions() loopfile.Options {
	return loopfile.Options{Env: []string{"PATH=" + os.Getenv("PATH")}}
}

// loadErr evaluates through the sandbox and wants a *loopfile.Error.
func loadErr(t *testing.T, ctx context.Context, path string, opts loopfile.Options, lim Limits) *loopfile.Error {
	t.Helper()
	p, err := Load(ctx, path, opts, lim)
	var e *loopfile.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, %v (%T), want a *loopfile.Error", p, err, err)
	}
	return e
}

func TestLoad_project(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": `service("api", "go run .", env = {"A": env("A")})`})
	opts := baseOptions()
	opts.Env = append(opts.Env, "A=from-options")
	p, err := Load(context.Background(), path, opts, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Resource("api"); r == nil || r.Env["A"] != "from-options" {
		t.Errorf("got %+v, want service api with A=from-options", p.Resources)
	}
}

func TestLoad_syntaxErrorKeepsPosition(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": "task('a', 'true')\nx = (\n"})
	e := loadErr(t, context.Background(), path, baseOptions(), Limits{})
	if e.File != path || e.Line != 3 || e.Col == 0 || !slices.Equal(e.Files, []string{path}) {
		t.Errorf("got %s (Files %q), want %s:3:col", e, e.Files, path)
	}
}

// The memory bombs of issue 11: each is a Loopfile error that names its
// line and the limit, and none of the memory is the caller's.
func TestLoad_memoryBombs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src string
		lines     []int // the error is at one of these lines
		want      string
	}{
		{"string doubling", "X = \"x\" * (1 << 29)\nY = X + X\n", []int{1},
			"evaluation used "},
		{"local yes", "\nlocal(\"yes\", quiet = True)\n", []int{2},
			`local: "yes": its stdout passed the limit of 16 MiB (MaxLocalOutput), so it was stopped`},
		{"read_file /dev/zero", "\nx = read_file(\"/dev/zero\")\n", []int{2},
			"read_file: /dev/zero is a character device, not a regular file"},
		{"list in one operation", "\nL = [0] * (1 << 28)\n", nil, "evaluation used "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "Loopfile")
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			e := loadErr(t, context.Background(), path, baseOptions(), Limits{})
			t.Log(e)
			if raceDetector && strings.HasPrefix(tt.want, "evaluation used") {
				tt.lines = nil // stopped past twice the limit, not at a line: race_test.go
			}
			if !strings.Contains(e.Msg, tt.want) || e.File != path {
				t.Errorf("got %s, want %q at %s", e, tt.want, path)
			}
			if strings.HasPrefix(tt.want, "evaluation used") && !strings.Contains(e.Msg, "the limit of 512 MiB (LOOP_EVAL_MEMORY)") {
				t.Errorf("got %q, want it to name the limit", e.Msg)
			}
			if tt.lines != nil && !slices.Contains(tt.lines, e.Line) {
				t.Errorf("got line %d, want one of %v", e.Line, tt.lines)
			}
		})
	}
	if hwm := peakRSS(t); hwm > maxTestRSS {
		t.Errorf("this process's peak RSS is %d MiB, want under %d MiB: the bombs went off here", hwm>>20, maxTestRSS>>20)
	}
}

// peakRSS is VmHWM of this process.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func TestLoad_FIFOAndDevicesFailAtOnce(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{`read_file("fifo")`, `load("fifo", "x")`, `read_file("/dev/zero")`, `load("/dev/zero", "x")`} {
		path := filepath.Join(dir, "Loopfile")
		if err := os.WriteFile(path, []byte("\n"+src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The evaluation's own time limit is far longer than the test's.
		e := loadErr(t, context.Background(), path, baseOptions(), Limits{Timeout: time.Hour})
		if !strings.Contains(e.Msg, "not a regular file") || e.Line != 2 {
			t.Errorf("%s: got %s, want a not-a-regular-file error at line 2", src, e)
		}
	}
}

// A Loopfile whose local() kills the evaluator (local's parent): a clean
// error that still lists the files read before.
func TestLoad_evaluatorKilled(t *testing.T) {
	path := writeProject(t, map[string]string{
		"Loopfile":    "v = read_file('version.txt')\nlocal('kill -9 $PPID; sleep 5')\n",
		"version.txt": "1",
	})
	e := loadErr(t, context.Background(), path, baseOptions(), Limits{})
	if !strings.Contains(e.Msg, "the evaluator was killed by signal 9") || e.File != path || e.Hint == "" {
		t.Errorf("got %s (hint %q), want a killed-evaluator error at the Loopfile", e, e.Hint)
	}
	if want := []string{path, filepath.Join(filepath.Dir(path), "version.txt")}; !slices.Equal(e.Files, want) {
		t.Errorf("got Files %q, want %q", e.Files, want)
	}
}

// A Go crash of the evaluator (here SIGABRT, which makes the runtime dump
// its goroutines and exit 2): the error names it and shows its first lines.
func TestLoad_evaluatorCrashed(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": "local('kill -ABRT $PPID; sleep 5')\n"})
	e := loadErr(t, context.Background(), path, baseOptions(), Limits{})
	if !strings.Contains(e.Msg, "the evaluator crashed: SIGABRT: abort") || strings.Count(e.Msg, "\n") > stderrLines+1 {
		t.Errorf("got %q, want the crash and at most %d lines of its output", e.Msg, stderrLines)
	}
}

func TestLoad_wallClock(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": "def spin():\n    for i in range(1 << 60):\n        pass\n\nspin()\n"})
	opts := baseOptions()
	opts.MaxSteps = 1 << 62
	// A limit well past the time a busy machine takes to start the
	// evaluator and reach the loop: the stop must land in the loop.
	e := loadErr(t, context.Background(), path, opts, Limits{Timeout: 5 * time.Second})
	if e.Msg != "evaluation took longer than the limit of 5s (LOOP_EVAL_TIMEOUT)" || e.Line != 2 {
		t.Errorf("got %s, want the time limit at line 2", e)
	}
}

// An evaluation stuck in a system call (compose-go opening a FIFO) cannot
// see the cancellation: the parent kills it KillGrace after the limit.
func TestLoad_stuckPastTheWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits KillGrace")
	}
	path := writeProject(t, map[string]string{"Loopfile": "\ncompose('compose.yml')\n"})
	if err := syscall.Mkfifo(filepath.Join(filepath.Dir(path), "compose.yml"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := loadErr(t, context.Background(), path, baseOptions(), Limits{Timeout: 100 * time.Millisecond})
	if !strings.Contains(e.Msg, "limit of 100ms (LOOP_EVAL_TIMEOUT)") {
		t.Errorf("got %s, want the time limit", e)
	}
}

// Cancelling the context kills the evaluator at once, and its local()
// command with it.
func TestLoad_cancelLeavesNothing(t *testing.T) {
	const marker = "3607.25" // sleep's argument, to find it in /proc
	path := writeProject(t, map[string]string{"Loopfile": "print('started')\nlocal('sleep " + marker + "')\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := baseOptions()
	// Cancel once the sleep runs.
	opts.Stdout = writerFunc(func(p []byte) {
		go func() {
			waitFor(t, "sleep to start", func() bool { return len(processes(marker)) > 0 })
			cancel()
		}()
	})
	start := time.Now()
	_, err := Load(ctx, path, opts, Limits{Timeout: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	t.Logf("returned %s after the start", time.Since(start))
	waitFor(t, "the evaluator and its command to go", func() bool {
		return len(processes(marker)) == 0 && len(children(Arg)) == 0
	})
}

// The evaluator's own environment holds only the basics; the project's
// environment reaches env() and local() through Options.Env.
func TestLoad_environment(t *testing.T) {
	t.Setenv("LOOP_TEST_SECRET_TOKEN", "hunter2")
	path := writeProject(t, map[string]string{"Loopfile": `
own = local("tr '\\0' '\\n' < /proc/$PPID/environ", quiet = True)
fail(own + "project=" + env("PROJECT_VAR") + local("echo $PROJECT_VAR", quiet = True))
`})
	opts := baseOptions()
	opts.Env = append(opts.Env, "PROJECT_VAR=p1")
	e := loadErr(t, context.Background(), path, opts, Limits{})
	if strings.Contains(e.Msg, "hunter2") || !strings.Contains(e.Msg, "PATH=") {
		t.Errorf("got evaluator environment %q, want PATH and no secret", e.Msg)
	}
	if !strings.Contains(e.Msg, "project=p1p1") {
		t.Errorf("got %q, want env() and local() to see Options.Env", e.Msg)
	}
}

// Output reaches Options.Stdout while the evaluation runs: the Loopfile
// waits for a file the test creates only once it has seen the output.
func TestLoad_outputIsLive(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": `
print("waiting")
local("while [ ! -e go ]; do sleep 0.01; done")
task("t", "true")
`})
	var once sync.Once
	var out bytes.Buffer
	opts := baseOptions()
	opts.LocalTimeout = time.Hour
	opts.Stdout = writerFunc(func(p []byte) {
		out.Write(p)
		once.Do(func() { os.WriteFile(filepath.Join(filepath.Dir(path), "go"), nil, 0o644) })
	})
	if _, err := Load(context.Background(), path, opts, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "waiting\n" {
		t.Errorf("got output %q, want %q", got, "waiting\n")
	}
}

func TestLoad_badLimits(t *testing.T) {
	path := writeProject(t, map[string]string{"Loopfile": `task("a", "true")`})
	t.Setenv(EnvMemory, "lots")
	e := loadErr(t, context.Background(), path, baseOptions(), Limits{})
	if !strings.Contains(e.Msg, `LOOP_EVAL_MEMORY="lots": not a size`) || e.File != path {
		t.Errorf("got %s, want the bad variable named", e)
	}
}

func TestLimits_resolve(t *testing.T) {
	env := map[string]string{EnvMemory: "1GiB", EnvTimeout: "90s"}
	got, err := Limits{}.resolve(func(k string) string { return env[k] })
	if err != nil || got != (Limits{Memory: 1 << 30, Timeout: 90 * time.Second}) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = Limits{Memory: 300 << 20}.resolve(func(string) string { return "" })
	if err != nil || got != (Limits{Memory: 300 << 20, Timeout: DefaultTimeout}) {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, bad := range []map[string]string{{EnvMemory: "1MiB"}, {EnvMemory: "64MiB"}, {EnvTimeout: "-1s"}, {EnvTimeout: "soon"}} {
		if _, err := (Limits{}).resolve(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v: got no error", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "512M": 512 << 20, "1 GiB": 1 << 30, "1g": 1 << 30, "4096": 4096, "64kb": 64 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-5M", "0", "1T"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// children lists the live children of this process whose command line has
// an argument equal to arg (other test binaries run evaluators too).
func children(arg string) []int {
	var pids []int
	for _, pid := range processes(arg) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := bytes.LastIndexByte(stat, ')')
		if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processes lists the live (not zombie) processes whose command line has
// an argument equal to arg.
func processes(arg string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// maxTestRSS is the peak RSS a test process may reach while the bombs go
// off in its evaluators: its own tests and the linked Kubernetes, Helm and
// kustomize packages take about 320 MiB; a bomb that went off in the
// process would add 256 MiB (the pool's limit) to 512 MiB or more.
const maxTestRSS = 450 << 20
