package diag

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.json from Parse's output")

// TestParse_Golden parses real tool output captured in testdata/*.txt and
// compares with the reviewed testdata/*.want.json next to it.
func TestParse_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n"))
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			golden := strings.TrimSuffix(in, ".txt") + ".want.json"
			if *update {
				if err := os.WriteFile(golden, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(gotJSON, want) {
				t.Errorf("Parse(%s) =\n%s\nwant\n%s", in, gotJSON, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []api.Diagnostic
	}{
		{
			name:  "go build without its header",
			lines: []string{"./main.go:12:5: undefined: foo"},
			want:  []api.Diagnostic{{File: "./main.go", Line: 12, Col: 5, Severity: "error", Message: "undefined: foo", Source: "go"}},
		},
		{
			name:  "go build header, continuation lines",
			lines: []string{"# example.com/app", "./a.go:3:9: cannot use x (variable of type int) as string value in return statement", "\thave (int)", "\twant (string)", "./a.go:4:1: too many errors"},
			want: []api.Diagnostic{
				{File: "./a.go", Line: 3, Col: 9, Severity: "error", Message: "cannot use x (variable of type int) as string value in return statement\nhave (int)\nwant (string)", Source: "go"},
				{File: "./a.go", Line: 4, Col: 1, Severity: "error", Message: "too many errors", Source: "go"},
			},
		},
		{
			name:  "header of a test binary",
			lines: []string{"# example.com/app [example.com/app.test]", "main.go:12:5: undefined: foo"},
			want:  []api.Diagnostic{{File: "main.go", Line: 12, Col: 5, Severity: "error", Message: "undefined: foo", Source: "go"}},
		},
		{
			name:  "go vet with an analyzer prefix",
			lines: []string{"./x.go:3:2: printf: fmt.Printf call needs 1 arg but has 2 args"},
			want:  []api.Diagnostic{{File: "./x.go", Line: 3, Col: 2, Severity: "error", Message: "printf: fmt.Printf call needs 1 arg but has 2 args", Source: "go vet"}},
		},
		{
			name:  "go vet under its header",
			lines: []string{"# example.com/app", "# [example.com/app]", "./x.go:3:2: printf: fmt.Printf call needs 1 arg but has 2 args"},
			want:  []api.Diagnostic{{File: "./x.go", Line: 3, Col: 2, Severity: "error", Message: "printf: fmt.Printf call needs 1 arg but has 2 args", Source: "go vet"}},
		},
		{
			name:  "old go test log with a tab",
			lines: []string{"--- FAIL: TestX (0.00s)", "\tx_test.go:15: got 1, want 2"},
			want:  []api.Diagnostic{{File: "x_test.go", Line: 15, Severity: "error", Message: "TestX: got 1, want 2", Source: "go test"}},
		},
		{
			name:  "go panic without a user frame",
			lines: []string{"panic: boom", "", "goroutine 1 [running]:", "runtime.main()", "\t/usr/local/go/src/runtime/proc.go:283 +0x28b"},
			want:  []api.Diagnostic{{File: "/usr/local/go/src/runtime/proc.go", Line: 283, Severity: "error", Message: "panic: boom", Source: "go"}},
		},
		{
			name:  "go panic in a module without a dot",
			lines: []string{"panic: boom", "", "goroutine 1 [running]:", "app/store.Get(...)", "\t/app/store/get.go:9", "main.main()", "\t/app/main.go:5 +0x1d"},
			want:  []api.Diagnostic{{File: "/app/store/get.go", Line: 9, Severity: "error", Message: "panic: boom", Source: "go"}},
		},
		{
			name:  "python chained exceptions: both",
			lines: []string{"Traceback (most recent call last):", `  File "/app/a.py", line 2, in <module>`, "    d['k']", "KeyError: 'k'", "", "During handling of the above exception, another exception occurred:", "", "Traceback (most recent call last):", `  File "/app/a.py", line 4, in <module>`, "    raise ValueError('bad')", "ValueError: bad"},
			want: []api.Diagnostic{
				{File: "/app/a.py", Line: 2, Severity: "error", Message: "KeyError: 'k'", Source: "python"},
				{File: "/app/a.py", Line: 4, Severity: "error", Message: "ValueError: bad", Source: "python"},
			},
		},
		{
			name:  "python frames all in site-packages: the last",
			lines: []string{"Traceback (most recent call last):", `  File "<frozen runpy>", line 198, in _run_module_as_main`, `  File "/usr/lib/python3/dist-packages/flask/app.py", line 10, in run`, `  File "/usr/lib/python3/dist-packages/flask/cli.py", line 20, in main`, "RuntimeError: no app"},
			want:  []api.Diagnostic{{File: "/usr/lib/python3/dist-packages/flask/cli.py", Line: 20, Severity: "error", Message: "RuntimeError: no app", Source: "python"}},
		},
		{
			name:  "rust panic, old form",
			lines: []string{"thread 'main' panicked at 'boom', src/main.rs:2:5"},
			want:  []api.Diagnostic{{File: "src/main.rs", Line: 2, Col: 5, Severity: "error", Message: "panicked: boom", Source: "rustc"}},
		},
		{
			name:  "tsc global error",
			lines: []string{"error TS5023: Unknown compiler option 'foo'."},
			want:  []api.Diagnostic{{Severity: "error", Message: "TS5023: Unknown compiler option 'foo'.", Source: "tsc"}},
		},
		{
			name: "generic forms",
			lines: []string{
				"src/x.c:3:4: error: 'y' undeclared",
				"src/x.c:5:1: warning: unused variable",
				"src/x.c:5:1: note: declared here",
				"/app/x.py:3: DeprecationWarning: old",
				"Makefile:12: *** missing separator.  Stop.",
				"lib.rb:7: syntax error, unexpected end-of-input",
				`C:\src\a.cs:3:4: error: nope`,
			},
			want: []api.Diagnostic{
				{File: "src/x.c", Line: 3, Col: 4, Severity: "error", Message: "'y' undeclared", Source: "generic"},
				{File: "src/x.c", Line: 5, Col: 1, Severity: "warning", Message: "unused variable", Source: "generic"},
				{File: "src/x.c", Line: 5, Col: 1, Severity: "info", Message: "declared here", Source: "generic"},
				{File: "/app/x.py", Line: 3, Severity: "warning", Message: "DeprecationWarning: old", Source: "generic"},
				{File: "Makefile", Line: 12, Severity: "error", Message: "*** missing separator.  Stop.", Source: "generic"},
				{File: "lib.rb", Line: 7, Severity: "error", Message: "syntax error, unexpected end-of-input", Source: "generic"},
				{File: `C:\src\a.cs`, Line: 3, Col: 4, Severity: "error", Message: "nope", Source: "generic"},
			},
		},
		{
			name:  "colors and carriage returns",
			lines: []string{"\x1b[1msrc/x.c:3:4: \x1b[31merror:\x1b[0m bad\r"},
			want:  []api.Diagnostic{{File: "src/x.c", Line: 3, Col: 4, Severity: "error", Message: "bad", Source: "generic"}},
		},
		{
			name:  "identical diagnostics once",
			lines: []string{"src/x.c:3:4: error: bad", "src/x.c:3:4: error: bad"},
			want:  []api.Diagnostic{{File: "src/x.c", Line: 3, Col: 4, Severity: "error", Message: "bad", Source: "generic"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.lines); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParse_Max(t *testing.T) {
	var lines []string
	for i := 1; i <= 300; i++ {
		lines = append(lines, "a.c:"+strconv.Itoa(i)+": error: bad")
	}
	if got := len(Parse(lines)); got != Max {
		t.Errorf("len(Parse(300 errors)) = %d, want %d", got, Max)
	}
}

// TestParse_NoFalsePositives feeds ordinary log lines that have colons and
// numbers in them.
func TestParse_NoFalsePositives(t *testing.T) {
	lines := []string{
		"12:30:45 server started",
		"[12:30:45] Starting 'build'...",
		"2026/11/28 01:41:38 listening on :8080",
		"2026/11/28 01:41:38 main.go:42: listening on :8080",
		"2026-11-28T01:41:38Z INFO request done",
		"time=2026-11-28T01:41:38.123Z level=INFO source=/app/main.go:42 msg=hi",
		"http://localhost:8080/x: 404 Not Found",
		"https://example.com:443/api/v1: timeout",
		"GET http://host:8080/x 200",
		"listening on 0.0.0.0:8080",
		"127.0.0.1:8080: connection refused",
		"10.0.0.1:5432: connect: connection refused",
		"localhost:3000: ready",
		"example.com:443: certificate expired",
		"db.internal:5432: no route to host",
		"sha256:3f4a9: pulling fs layer",
		"Error: something went wrong",
		"error: could not compile `app` (bin \"app\") due to 2 previous errors",
		"warning: `app` (bin \"app\") generated 2 warnings",
		"INFO: main.go loaded",
		"v1.2.3: released",
		"node:internal/modules/cjs/loader:1143",
		"    at Object.<anonymous> (/app/index.js:3:9)",
		"\t/app/main.go:12 +0x1f",
		"/app/index.js:3",
		"main.go:12:",
		"main.go:12: ",
		"ok  \texample.com/app\t0.002s",
		"--- PASS: TestX (0.00s)",
		"=== RUN   TestX",
		"PASS",
		"# Title of a markdown document",
		"Step 3/10 : RUN go build ./...",
		"#5 0.123 go: downloading golang.org/x/sys v0.50.0",
		"Compiling app v0.1.0 (/work/app)",
		"   Compiling app v0.1.0 (/work/app)",
		"Found 2 errors in the same file, starting at: src/a.ts:1",
		"5 problems",
		"Ran 3 tests in 0.001s",
		"fatal error: too many open files",
		"user.name:12: nothing",
		"  File \"/app/a.py\", line 3, in <module>",
	}
	for _, l := range lines {
		if got := Parse([]string{l}); len(got) != 0 {
			t.Errorf("Parse(%q) = %+v, want none", l, got)
		}
	}
}
