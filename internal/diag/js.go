package diag

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/loopdev/loop/api"
)

// TypeScript's tsc, in its plain form (when piped) and its pretty form:
//
//	src/a.ts(3,7): error TS2322: Type 'string' is not assignable ...
//	src/a.ts:3:7 - error TS2322: Type 'string' is not assignable ...
//
// ESLint's unix formatter and its default, stylish:
//
//	/abs/src/a.js:1:10: 'x' is defined but never used. [Error/no-unused-vars]
//
//	/abs/src/a.js
//	  1:10  error  'x' is defined but never used  no-unused-vars

var (
	tscRe        = regexp.MustCompile(`^(\S.*?)\((\d+),(\d+)\): (error|warning|message) (TS\d+): (.*)$`)
	tscPrettyRe  = regexp.MustCompile(`^(\S.*?):(\d+):(\d+) - (error|warning|message) (TS\d+): (.*)$`)
	tscGlobalRe  = regexp.MustCompile(`^(error|warning) (TS\d+): (.*)$`)
	eslintUnixRe = regexp.MustCompile(`^(\S.*?):(\d+):(\d+): (.*) \[(Error|Warning)(?:/([^\]]+))?\]$`)
	stylishFile  = regexp.MustCompile(`^(?:[A-Za-z]:)?[/\\]\S.*\.[A-Za-z]\w*$`)
	stylishEntry = regexp.MustCompile(`^  (\d+):(\d+)\s+(error|warning)\s+(.*)$`)
	spaces2      = regexp.MustCompile(`\s{2,}`)
)

// parseTSC takes one tsc error (its related-information and code excerpt
// lines are indented and left alone).
func parseTSC(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	l := lines[i]
	m := tscRe.FindStringSubmatch(l)
	if m == nil {
		m = tscPrettyRe.FindStringSubmatch(l)
	}
	if m == nil {
		if g := tscGlobalRe.FindStringSubmatch(l); g != nil {
			return 1, []api.Diagnostic{{Severity: tscSeverity(g[1]), Message: g[2] + ": " + g[3], Source: "tsc"}}
		}
		return 0, nil
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	return 1, []api.Diagnostic{{File: m[1], Line: line, Col: col, Severity: tscSeverity(m[4]), Message: m[5] + ": " + m[6], Source: "tsc"}}
}

func tscSeverity(s string) string {
	if s == "message" {
		return sevInfo
	}
	return s
}

// parseESLintUnix takes one line of ESLint's unix formatter.
func parseESLintUnix(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	m := eslintUnixRe.FindStringSubmatch(lines[i])
	if m == nil {
		return 0, nil
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	return 1, []api.Diagnostic{{File: m[1], Line: line, Col: col, Severity: strings.ToLower(m[5]), Message: eslintMessage(m[4], m[6]), Source: "eslint"}}
}

// parseESLintStylish takes a file header of ESLint's stylish formatter
// with its entries.
func parseESLintStylish(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	if !stylishFile.MatchString(lines[i]) || i+1 >= len(lines) || !stylishEntry.MatchString(lines[i+1]) {
		return 0, nil
	}
	file := lines[i]
	var ds []api.Diagnostic
	j := i + 1
	for ; j < len(lines); j++ {
		m := stylishEntry.FindStringSubmatch(lines[j])
		if m == nil {
			break
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		// message, then the rule when there is one, two or more spaces apart.
		msg, rule := strings.TrimSpace(m[4]), ""
		if parts := spaces2.Split(msg, -1); len(parts) > 1 {
			msg, rule = strings.Join(parts[:len(parts)-1], "  "), parts[len(parts)-1]
		}
		ds = append(ds, api.Diagnostic{File: file, Line: line, Col: col, Severity: m[3], Message: eslintMessage(msg, rule), Source: "eslint"})
	}
	return j - i, ds
}

func eslintMessage(msg, rule string) string {
	if rule == "" {
		return msg
	}
	return msg + " [" + rule + "]"
}
