package loopfile

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLoad_errorFiles evaluates every testdata/errors/*.star file. Each
// starts with "# want: LINE:COL message-substring" and may go on with
// "# hint: hint-substring" and "# goos: windows" or "# goos: !windows"
// (for a file in the syntax of one platform's shell).
func TestLoad_errorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".star"), func(t *testing.T) {
			abs, _ := filepath.Abs(file)
			line, col, wantMsg, wantHint, goos := readWant(t, abs)
			if only, not := strings.CutPrefix(goos, "!"); goos != "" && (only == runtime.GOOS) == not {
				t.Skipf("for GOOS %s", goos)
			}

			_, err := Load(context.Background(), abs, Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got error %v (%T), want *Error", err, err)
			}
			if e.File != abs || e.Line != line || e.Col != col {
				t.Errorf("got position %s:%d:%d, want %s:%d:%d", e.File, e.Line, e.Col, abs, line, col)
			}
			if !strings.Contains(e.Msg, wantMsg) {
				t.Errorf("got message %q, want it to contain %q", e.Msg, wantMsg)
			}
			if !strings.Contains(e.Hint, wantHint) {
				t.Errorf("got hint %q, want it to contain %q", e.Hint, wantHint)
			}
			if len(e.Files) == 0 || e.Files[0] != abs {
				t.Errorf("got Files %q, want it to start with %s", e.Files, abs)
			}
			if got := e.Error(); !strings.HasPrefix(got, abs+":"+strconv.Itoa(line)+":"+strconv.Itoa(col)+": ") {
				t.Errorf("got Error() %q, want it to start with file:line:col", got)
			}
		})
	}
}

func readWant(t *testing.T, path string) (line, col int, msg, hint, goos string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	want, ok := strings.CutPrefix(sc.Text(), "# want: ")
	if !ok {
		t.Fatalf("%s: first line %q does not start with \"# want: \"", path, sc.Text())
	}
	pos, msg, _ := strings.Cut(want, " ")
	l, c, _ := strings.Cut(pos, ":")
	line, err1 := strconv.Atoi(l)
	col, err2 := strconv.Atoi(c)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: bad position %q in want line", path, pos)
	}
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# hint: "); ok {
			hint = v
		} else if v, ok := strings.CutPrefix(sc.Text(), "# goos: "); ok {
			goos = v
		} else {
			break
		}
	}
	return line, col, msg, hint, goos
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "/p/Loopfile", Line: 3, Col: 9, Msg: "service: boom", Hint: "fix it"}, "/p/Loopfile:3:9: service: boom (hint: fix it)"},
		{&Error{File: "/p/Loopfile", Line: 3, Col: 9, Msg: "boom"}, "/p/Loopfile:3:9: boom"},
		{&Error{File: "/p/Loopfile", Msg: "no such file"}, "/p/Loopfile: no such file"},
		{&Error{Msg: "boom"}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
