// Package diag turns a resource's output (build, test and runtime output)
// into structured diagnostics: file:line:col, severity and message, so that
// editors and assistants learn exactly what broke after an edit.
//
// Parse walks the lines once, oldest first. At each line it tries the
// tool-specific parsers in order (Go, Python, Rust, TypeScript, ESLint);
// each either leaves the line alone or consumes one or more lines (a header,
// a traceback, an error with its "-->" location) and returns what it found
// there, possibly nothing: a `# pkg` header or a `--- FAIL: TestX` line is
// consumed only to keep the generic file:line parser off it. Only a line
// that no specific parser took is offered to the generic parser. Parsers
// share a small state (the current Go test's name) that context lines set.
//
// Parse reports files as printed; Resolve maps them to absolute host paths,
// back through a container's sync rules.
package diag

import (
	"regexp"
	"strings"

	"github.com/loopdev/loop/api"
)

// Max is the most diagnostics Parse returns.
const Max = 200

// Severities.
const (
	sevError   = "error"
	sevWarning = "warning"
	sevInfo    = "info"
)

// A parser recognizes one tool's output at lines[i]. It returns how many
// lines it consumed (0: not its output, try the next parser) and the
// diagnostics found in them.
type parser func(st *state, lines []string, i int) (n int, ds []api.Diagnostic)

// state is what context lines tell later lines.
type state struct {
	test string // the Go test whose output this is ("" outside a test)
}

// parsers are the specific parsers, tried in order before generic.
var parsers = []parser{
	parseGoHeader,
	parseGoTestContext,
	parseGoTestLog,
	parseGoPanic,
	parseGoLine,
	parsePythonTraceback,
	parsePythonSyntaxError,
	parseRust,
	parseRustPanic,
	parseTSC,
	parseESLintUnix,
	parseESLintStylish,
}

// Parse finds diagnostics in a resource's output lines (oldest first), as
// the tools print them. Resource is left empty; File is as printed
// (relative or absolute, possibly a container path). Identical diagnostics
// are reported once, and at most Max are reported.
func Parse(lines []string) []api.Diagnostic {
	clean := make([]string, len(lines))
	for i, l := range lines {
		clean[i] = cleanLine(l)
	}
	var (
		st   state
		out  []api.Diagnostic
		seen = make(map[api.Diagnostic]bool)
	)
	add := func(ds []api.Diagnostic) {
		for _, d := range ds {
			if len(out) < Max && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	for i := 0; i < len(clean) && len(out) < Max; {
		n, ds := parseAt(&st, clean, i)
		add(ds)
		i += n
	}
	return out
}

// parseAt runs the specific parsers at lines[i], then the generic one, and
// always consumes at least one line.
func parseAt(st *state, lines []string, i int) (int, []api.Diagnostic) {
	for _, p := range parsers {
		if n, ds := p(st, lines, i); n > 0 {
			return n, ds
		}
	}
	if d, ok := parseGeneric(lines[i]); ok {
		return 1, []api.Diagnostic{d}
	}
	return 1, nil
}

// ansi matches terminal escape sequences (colors, cursor movement).
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)`)

// cleanLine drops colors and a trailing carriage return.
func cleanLine(s string) string {
	s = strings.TrimRight(s, "\r")
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.ReplaceAllString(s, "")
	}
	return s
}

// indent is the number of leading spaces and tabs in s (a tab counts 1).
func indent(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}
