package diag

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/loopdev/loop/api"
)

// rustc and cargo print a headline and, below it, where:
//
//	error[E0425]: cannot find value `x` in this scope
//	 --> src/main.rs:2:5
//
// A headline with no location under it ("error: could not compile ...",
// "warning: `app` (bin "app") generated 2 warnings") is a summary: consumed,
// not reported. A Rust program's panic names its position in the headline:
//
//	thread 'main' panicked at src/main.rs:4:21:
//	index out of bounds: the len is 0 but the index is 3

var (
	rustHeadRe     = regexp.MustCompile(`^(error|warning)(?:\[(\w+)\])?: (.+)$`)
	rustArrowRe    = regexp.MustCompile(`^\s*--> (.+):(\d+):(\d+)$`)
	rustPanicRe    = regexp.MustCompile(`^thread '([^']*)'(?: \(\d+\))? panicked at (.+):(\d+):(\d+):$`)
	rustPanicOldRe = regexp.MustCompile(`^thread '([^']*)'(?: \(\d+\))? panicked at '(.*)', (.+):(\d+):(\d+)$`)
)

// parseRust takes an error or warning headline with its --> location.
func parseRust(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	m := rustHeadRe.FindStringSubmatch(lines[i])
	if m == nil {
		return 0, nil
	}
	for j := i + 1; j < len(lines) && j <= i+2; j++ {
		a := rustArrowRe.FindStringSubmatch(lines[j])
		if a == nil {
			continue
		}
		line, _ := strconv.Atoi(a[2])
		col, _ := strconv.Atoi(a[3])
		msg := m[3]
		if m[2] != "" {
			msg = m[2] + ": " + msg
		}
		return j + 1 - i, []api.Diagnostic{{File: a[1], Line: line, Col: col, Severity: m[1], Message: msg, Source: "rustc"}}
	}
	return 1, nil
}

// parseRustPanic takes a Rust program's (or test's) panic.
func parseRustPanic(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	var thread, file, line, col, msg string
	n := 1
	if m := rustPanicRe.FindStringSubmatch(lines[i]); m != nil {
		thread, file, line, col = m[1], m[2], m[3], m[4]
		// The message, to the backtrace note or a blank line.
		var parts []string
		for ; i+n < len(lines) && n <= 10; n++ {
			l := lines[i+n]
			if l == "" || strings.HasPrefix(l, "note: ") || l == "stack backtrace:" {
				break
			}
			parts = append(parts, strings.TrimSpace(l))
		}
		msg = strings.Join(parts, "\n")
	} else if m := rustPanicOldRe.FindStringSubmatch(lines[i]); m != nil {
		thread, msg, file, line, col = m[1], m[2], m[3], m[4], m[5]
	} else {
		return 0, nil
	}
	msg = "panicked: " + msg
	if thread != "main" && thread != "" {
		msg = thread + ": " + msg
	}
	l, _ := strconv.Atoi(line)
	c, _ := strconv.Atoi(col)
	return n, []api.Diagnostic{{File: file, Line: l, Col: c, Severity: sevError, Message: msg, Source: "rustc"}}
}
