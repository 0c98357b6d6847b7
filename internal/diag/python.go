package diag

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/loopdev/loop/api"
)

// Python's uncaught exceptions:
//
//	Traceback (most recent call last):
//	  File "/app/main.py", line 7, in <module>
//	    main()
//	NameError: name 'x' is not defined
//
// become one diagnostic at the last frame in the user's code (not the
// standard library, not site-packages), with the exception line as the
// message. A SyntaxError in the main script has no Traceback line, only
// the File line, the source line, a caret and the exception.

var (
	pyFrameRe = regexp.MustCompile(`^  File "(.+)", line (\d+)(, in .+)?$`)
	pyStdRe   = regexp.MustCompile(`[/\\](?:site-packages|dist-packages|lib[/\\]python\d[\d.]*)[/\\]`)
	pyExcRe   = regexp.MustCompile(`^[A-Za-z_][\w.]*(?::|$)`)
)

type pyFrame struct {
	file string
	line int
}

// parsePythonTraceback takes a traceback through its exception line.
func parsePythonTraceback(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	if lines[i] != "Traceback (most recent call last):" {
		return 0, nil
	}
	n, d, ok := pythonFrames(lines, i+1)
	if !ok {
		return 1 + n, nil
	}
	return 1 + n, []api.Diagnostic{d}
}

// parsePythonSyntaxError takes a SyntaxError reported without a traceback.
func parsePythonSyntaxError(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	m := pyFrameRe.FindStringSubmatch(lines[i])
	if m == nil || m[3] != "" {
		return 0, nil
	}
	n, d, ok := pythonFrames(lines, i)
	if !ok || !strings.Contains(d.Message, "Error") {
		return 0, nil
	}
	return n, []api.Diagnostic{d}
}

// pythonFrames reads frames from lines[i] up to and including the
// exception line; ok is false when the exception line is missing.
func pythonFrames(lines []string, i int) (n int, d api.Diagnostic, ok bool) {
	var frames []pyFrame
	j := i
	for ; j < len(lines) && j < i+1000; j++ {
		l := lines[j]
		if m := pyFrameRe.FindStringSubmatch(l); m != nil {
			line, _ := strconv.Atoi(m[2])
			frames = append(frames, pyFrame{m[1], line})
			continue
		}
		if strings.TrimSpace(l) == "" || indent(l) > 0 {
			continue // source lines, carets
		}
		break
	}
	if j >= len(lines) || !pyExcRe.MatchString(lines[j]) || len(frames) == 0 {
		return j - i, d, false
	}
	d = api.Diagnostic{Severity: sevError, Message: lines[j], Source: "python"}
	if f, ok := pythonUserFrame(frames); ok {
		d.File, d.Line = f.file, f.line
	}
	return j + 1 - i, d, true
}

// pythonUserFrame is the last frame in the user's code, else the last frame
// that names a file ("<frozen ...>" and "<string>" do not).
func pythonUserFrame(frames []pyFrame) (pyFrame, bool) {
	var fallback *pyFrame
	for k := len(frames) - 1; k >= 0; k-- {
		f := frames[k]
		if strings.HasPrefix(f.file, "<") {
			continue
		}
		if !pyStdRe.MatchString(f.file) {
			return f, true
		}
		if fallback == nil {
			fallback = &frames[k]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return pyFrame{}, false
}
