package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/output"
)

// syncBuffer is safe for the concurrent writes of local().
type syncBuffer struct{ output.Buffer }

// mustError is fixture for Loopfiles that must fail with an *Error.
func mustError(t *testing.T, files map[string]string, opts Options) (*Error, string) {
	t.Helper()
	_, dir, err := fixture(t, files, opts)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	return e, dir
}

func TestLoad_load(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Loopfile": `
load("lib/services.star", "api")
load("common/defaults.star", "PORT")
api(PORT)
`,
		"lib/services.star": `
load("../common/defaults.star", "PORT")
load("sub/more.star", "more")
def api(port):
    return service("api", "x", ports = [port])
more()
`,
		"common/defaults.star": `PORT = 8080`,
		"lib/sub/more.star":    `def more(): task("more", "true")`,
	})
	var names []string
	for _, r := range p.Resources {
		names = append(names, r.Name)
	}
	if want := []string{"more", "api"}; !slices.Equal(names, want) {
		t.Errorf("got resources %q, want %q", names, want)
	}
	if got, want := p.Resource("api").Ports, []int{8080}; !slices.Equal(got, want) {
		t.Errorf("got ports %v, want %v", got, want)
	}
	wantFiles := []string{
		filepath.Join(dir, "Loopfile"),
		filepath.Join(dir, "lib/services.star"),
		filepath.Join(dir, "common/defaults.star"),
		filepath.Join(dir, "lib/sub/more.star"),
	}
	if !slices.Equal(p.Files, wantFiles) {
		t.Errorf("got Files\n%q\nwant\n%q", p.Files, wantFiles)
	}
	if got, want := p.Resource("more").Pos.File, filepath.Join(dir, "lib/sub/more.star"); got != want {
		t.Errorf("got more declared in %s, want %s", got, want)
	}
}

func TestLoad_loadedModuleIsFrozen(t *testing.T) {
	e, _ := mustError(t, map[string]string{
		"Loopfile": `
load("lib.star", "NAMES")
NAMES.append("c")
`,
		"lib.star": `NAMES = ["a", "b"]`,
	}, Options{})
	if got, want := e.Line, 3; got != want {
		t.Errorf("got line %d, want %d", got, want)
	}
	if !strings.Contains(e.Msg, "frozen") {
		t.Errorf("got %q, want a frozen-value error", e.Msg)
	}
}

func TestLoad_loadErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		wantFile string // relative to the temp dir
		wantLine int
		wantMsg  string
		wantRead []string // Error.Files, relative
	}{
		{
			name: "cycle",
			files: map[string]string{
				"Loopfile": `load("a.star", "a")`,
				"a.star":   "\nload(\"b/b.star\", \"b\")\na = 1",
				"b/b.star": "\n\nload(\"../a.star\", \"a\")\nb = 1",
			},
			wantFile: "b/b.star", wantLine: 3,
			wantMsg:  "load: load cycle: Loopfile -> a.star -> b/b.star -> a.star",
			wantRead: []string{"Loopfile", "a.star", "b/b.star"},
		},
		{
			name: "cycle through the Loopfile",
			files: map[string]string{
				"Loopfile": `load("a.star", "a")`,
				"a.star":   "load(\"Loopfile\", \"x\")\na = 1",
			},
			wantFile: "a.star", wantLine: 1,
			wantMsg:  "load cycle: Loopfile -> a.star -> Loopfile",
			wantRead: []string{"Loopfile", "a.star"},
		},
		{
			name: "error inside a loaded file points into it",
			files: map[string]string{
				"Loopfile": "load(\"lib.star\", \"x\")",
				"lib.star": "x = 1\nservice(\"api\", 42)",
			},
			wantFile: "lib.star", wantLine: 2,
			wantMsg:  "service: for parameter cmd: got int, want string or list of strings",
			wantRead: []string{"Loopfile", "lib.star"},
		},
		{
			name: "syntax error inside a loaded file",
			files: map[string]string{
				"Loopfile": "load(\"lib.star\", \"x\")",
				"lib.star": "x = (",
			},
			wantFile: "lib.star", wantLine: 1,
			wantRead: []string{"Loopfile", "lib.star"},
		},
		{
			name: "missing file is still watched",
			files: map[string]string{
				"Loopfile": "\nload(\"lib/missing.star\", \"x\")",
			},
			wantFile: "Loopfile", wantLine: 2,
			wantMsg:  `load: cannot load "lib/missing.star"`,
			wantRead: []string{"Loopfile", "lib/missing.star"},
		},
		{
			name: "missing symbol",
			files: map[string]string{
				"Loopfile": "load(\"lib.star\", \"servce\")",
				"lib.star": "service = 1",
			},
			wantFile: "Loopfile", wantLine: 1,
			wantMsg:  "servce",
			wantRead: []string{"Loopfile", "lib.star"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, dir := mustError(t, tt.files, Options{})
			if got, want := e.File, filepath.Join(dir, tt.wantFile); got != want || e.Line != tt.wantLine {
				t.Errorf("got %s:%d, want %s:%d", got, e.Line, want, tt.wantLine)
			}
			if !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", e.Msg, tt.wantMsg)
			}
			var want []string
			for _, f := range tt.wantRead {
				want = append(want, filepath.Join(dir, f))
			}
			if !slices.Equal(e.Files, want) {
				t.Errorf("got Files %q, want %q", e.Files, want)
			}
		})
	}
}

func TestLoad_loadCachesModules(t *testing.T) {
	// Two files load the same module; it runs (and declares) once.
	mustLoad(t, map[string]string{
		"Loopfile":    "load(\"a.star\", \"a\")\nload(\"common.star\", \"c\")",
		"a.star":      "load(\"common.star\", \"c\")\na = c",
		"common.star": "task(\"shared\", \"true\")\nc = 1",
	})
}

func TestLoad_readFile(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Loopfile": `
load("lib/lib.star", "version")
port = read_file("port.txt").strip()
missing = read_file("nope.txt", default = "fallback")
service("api", "x", env = {"PORT": port, "VERSION": version, "M": missing})
`,
		"port.txt":     "8080\n",
		"lib/lib.star": `version = read_file("VERSION")`, // relative to lib/
		"lib/VERSION":  "1.2.3",
	})
	want := map[string]string{"PORT": "8080", "VERSION": "1.2.3", "M": "fallback"}
	for k, v := range want {
		if got := p.Resource("api").Env[k]; got != v {
			t.Errorf("got %s=%q, want %q", k, got, v)
		}
	}
	wantFiles := []string{
		filepath.Join(dir, "Loopfile"),
		filepath.Join(dir, "lib/lib.star"),
		filepath.Join(dir, "lib/VERSION"),
		filepath.Join(dir, "port.txt"),
		filepath.Join(dir, "nope.txt"),
	}
	if !slices.Equal(p.Files, wantFiles) {
		t.Errorf("got Files\n%q\nwant\n%q", p.Files, wantFiles)
	}
}

func TestLoad_readFileMissingIsWatched(t *testing.T) {
	e, dir := mustError(t, map[string]string{"Loopfile": `x = read_file("config.json")`}, Options{})
	if !slices.Contains(e.Files, filepath.Join(dir, "config.json")) {
		t.Errorf("got Files %q, want config.json in them", e.Files)
	}
}

func TestLoad_env(t *testing.T) {
	t.Setenv("LOOP_TEST_ONLY_IN_OS", "os")
	p, _, err := fixture(t, map[string]string{"Loopfile": `
service("api", "x", env = {
    "A": env("A"),
    "B": env("B", "default"),
    "C": env("LOOP_TEST_ONLY_IN_OS", "not from os"),
    "D": env("D"),
})
`}, Options{Env: []string{"A=first", "A=last", "D="}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "last", "B": "default", "C": "not from os", "D": ""}
	for k, v := range want {
		if got := p.Resource("api").Env[k]; got != v {
			t.Errorf("got %s=%q, want %q", k, got, v)
		}
	}
}

// testPATH is a PATH for local() commands: the shell and coreutils.
func testPATH() string {
	if runtime.GOOS == "windows" {
		return "PATH=" + os.Getenv("PATH")
	}
	return "PATH=/usr/bin:/bin"
}

func TestLoad_local(t *testing.T) {
	var out syncBuffer
	loopfile := `
branch = local("echo $BRANCH-$EXTRA", env = {"EXTRA": "x"}).strip()
here = local(["pwd"], dir = "sub", quiet = True).strip()
local("echo to-stderr >&2")
quoted = local('echo "a  b"', quiet = True).strip()
task("t", "true", labels = [branch, here, quoted])
`
	if runtime.GOOS == "windows" {
		loopfile = `
branch = local("echo %BRANCH%-%EXTRA%", env = {"EXTRA": "x"}).strip()
here = local(["cmd", "/c", "cd"], dir = "sub", quiet = True).strip()
local("echo to-stderr>&2")
quoted = local('echo "a  b"', quiet = True).strip()
task("t", "true", labels = [branch, here, quoted])
`
	}
	p, _, err := fixture(t, map[string]string{
		"sub/":     "",
		"Loopfile": loopfile,
	}, Options{Env: []string{testPATH(), "BRANCH=main"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	labels := p.Resource("t").Labels
	if got, want := labels[0], "main-x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := labels[1], filepath.Join(p.Dir, "sub"); got != want {
		t.Errorf("got pwd %q, want %q", got, want)
	}
	// The script reaches the shell as written: cmd.exe's echo keeps quotes.
	if got, want := labels[2], byOS("a  b", `"a  b"`); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := out.String(); !strings.Contains(got, "main-x") || !strings.Contains(got, "to-stderr") || strings.Contains(got, p.Dir) {
		t.Errorf("got output %q, want the non-quiet commands' stdout and stderr only", got)
	}
}

func TestLoad_localErrors(t *testing.T) {
	timeout := 200 * time.Millisecond
	if runtime.GOOS == "windows" {
		timeout = 2 * time.Second // cmd.exe can take longer to start (Wine does)
	}
	tests := []struct {
		name, cmd string
		timeout   time.Duration
		want      string
	}{
		{"exit code and stderr tail",
			byOS(`local("echo one >&2; echo two >&2; exit 7")`, `local("echo one>&2& echo two>&2& exit 7")`), 0,
			byOS(`local: "echo one >&2; echo two >&2; exit 7" exited with code 7: one`, `local: "echo one>&2& echo two>&2& exit 7" exited with code 7: one`) + "\ntwo"},
		{"timeout",
			byOS(`local("echo started >&2; sleep 30")`, `local("echo started>&2& ping -n 30 127.0.0.1 >nul")`),
			timeout, "timed out after " + timeout.String() + ": started"},
		{"not found", `local(["/nonexistent/cmd"])`, 0,
			byOS(`local: "/nonexistent/cmd": fork/exec`, `local: "/nonexistent/cmd": exec: "/nonexistent/cmd": executable file not found`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			e, _ := mustError(t, map[string]string{"Loopfile": "\n" + tt.cmd}, Options{Env: []string{testPATH()}, LocalTimeout: tt.timeout})
			if !strings.Contains(e.Msg, tt.want) {
				t.Errorf("got %q, want it to contain %q", e.Msg, tt.want)
			}
			if e.Line != 2 || e.Col != 1 {
				t.Errorf("got %d:%d, want 2:1", e.Line, e.Col)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s, want the timeout to stop the command", d)
			}
		})
	}
}

func TestLoad_stepLimit(t *testing.T) {
	e, _ := mustError(t, map[string]string{"Loopfile": `
def forever():
    for i in range(1 << 60):
        pass

forever()
`}, Options{MaxSteps: 100_000})
	if !strings.Contains(e.Msg, "step limit exceeded") || !strings.Contains(e.Hint, "loop forever") {
		t.Errorf("got %q (hint %q), want a step limit error", e.Msg, e.Hint)
	}
	if e.Line != 3 {
		t.Errorf("got line %d, want 3 (inside the loop)", e.Line)
	}
}

func TestLoad_contextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "Loopfile")
	writeFile(t, path, byOS(`local("sleep 30")`, `local("ping -n 30 127.0.0.1 >nul")`))
	go func() {
		_, err := Load(ctx, path, Options{Env: []string{testPATH()}})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return after cancel")
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
