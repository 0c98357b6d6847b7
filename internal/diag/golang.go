package diag

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/loopdev/loop/api"
)

// Go's output: compiler errors after a `# pkg` header (go build, go run, a
// test binary that does not build), go vet findings, go test failures and
// panics.
//
// go vet and the compiler print the same file:line:col shape. They differ
// in what surrounds it: the go command always puts a `# importpath` header
// above compiler errors, and vet either adds a `# [importpath]` header
// (older go, and type errors, which vet also prefixes with "vet: ") or
// prints no header at all (go 1.26). So a line under a plain header is the
// compiler's, one under a `# [pkg]` header or with "vet: " is vet's, and a
// line with no header is vet's unless it starts with "./" or "../", as the
// go command writes the paths of compiler errors (a header lost to a
// truncated log). A message that starts with a vet analyzer's name
// ("printf: ...", as some versions and wrappers print) is vet's too.

var (
	goHeaderRe = regexp.MustCompile(`^# (\[)?[\w.~+/-]+\]?(?: \[[\w.~+/-]+\])?$`)
	goLineRe   = regexp.MustCompile(`^(vet: )?((?:[A-Za-z]:)?[^\s:]*\.go):(\d+):(\d+): (.+)$`)
	goRunRe    = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)$`)
	goResultRe = regexp.MustCompile(`^\s*--- (FAIL|PASS|SKIP): (\S+) \(`)
	goPkgRe    = regexp.MustCompile(`^(?:(?:ok  |FAIL|\?   )\t\S+.*|PASS|FAIL)$`)
	goLogRe    = regexp.MustCompile(`^( {4,}|\t+)([^\s:]+\.go):(\d+): ?(.*)$`)
	goPanicRe  = regexp.MustCompile(`^(panic|fatal error): (.+)$`)
	goGorRe    = regexp.MustCompile(`^goroutine \d+.*\[.*\]:$`)
	goFrameRe  = regexp.MustCompile(`^\t(.+?):(\d+)(?: \+0x[0-9a-f]+)?$`)
)

// parseGoHeader consumes a `# pkg` header (and vet's `# [pkg]`) with the
// compiler or vet lines under it.
func parseGoHeader(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	j, source := i, "go"
	for j < len(lines) && goHeaderRe.MatchString(lines[j]) {
		if strings.HasPrefix(lines[j], "# [") {
			source = "go vet"
		}
		j++
	}
	if j == i {
		return 0, nil
	}
	var ds []api.Diagnostic
	for ; j < len(lines); j++ {
		l := lines[j]
		if m := goLineRe.FindStringSubmatch(l); m != nil {
			d := goLineDiag(m, source)
			if m[1] != "" {
				d.Source = "go vet"
			}
			ds = append(ds, d)
			continue
		}
		if strings.HasPrefix(l, "\t") && len(ds) > 0 { // "\thave (int)" / "\twant (string)"
			ds[len(ds)-1].Message += "\n" + strings.TrimSpace(l)
			continue
		}
		if strings.HasSuffix(l, "too many errors") {
			continue
		}
		break
	}
	return j - i, ds
}

// parseGoLine takes a compiler or vet line without a header above it.
func parseGoLine(_ *state, lines []string, i int) (int, []api.Diagnostic) {
	m := goLineRe.FindStringSubmatch(lines[i])
	if m == nil {
		return 0, nil
	}
	source := "go vet"
	if m[1] == "" && (strings.HasPrefix(m[2], "./") || strings.HasPrefix(m[2], "../")) {
		source = "go"
	}
	return 1, []api.Diagnostic{goLineDiag(m, source)}
}

// vetAnalyzers are the analyzers go vet runs.
var vetAnalyzers = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`appends asmdecl assign atomic bools buildtag cgocall
		composites copylocks defers directive errorsas framepointer hostport httpresponse
		ifaceassert loopclosure lostcancel nilfunc printf shift sigchanyzer slog stdmethods
		stdversion stringintconv structtag testinggoroutine tests timeformat unmarshal
		unreachable unsafeptr unusedresult waitgroup`) {
		vetAnalyzers[a] = true
	}
}

func goLineDiag(m []string, source string) api.Diagnostic {
	line, _ := strconv.Atoi(m[3])
	col, _ := strconv.Atoi(m[4])
	if a, _, ok := strings.Cut(m[5], ": "); ok && vetAnalyzers[a] {
		source = "go vet"
	}
	return api.Diagnostic{File: m[2], Line: line, Col: col, Severity: sevError, Message: m[5], Source: source}
}

// parseGoTestContext follows which test is running (=== RUN, --- FAIL) and
// consumes go test's own status lines.
func parseGoTestContext(st *state, lines []string, i int) (int, []api.Diagnostic) {
	l := lines[i]
	if m := goRunRe.FindStringSubmatch(l); m != nil {
		if m[1] != "PAUSE" {
			st.test = m[2]
		}
		return 1, nil
	}
	if m := goResultRe.FindStringSubmatch(l); m != nil {
		st.test = ""
		if m[1] == "FAIL" {
			st.test = m[2]
		}
		return 1, nil
	}
	if goPkgRe.MatchString(l) {
		st.test = ""
		return 1, nil
	}
	return 0, nil
}

// parseGoTestLog takes a test's t.Error/t.Fatal line ("    x_test.go:15:
// got 1, want 2") with its continuation lines, indented deeper.
func parseGoTestLog(st *state, lines []string, i int) (int, []api.Diagnostic) {
	m := goLogRe.FindStringSubmatch(lines[i])
	if m == nil {
		return 0, nil
	}
	msg := strings.TrimSpace(m[4])
	n := 1
	for ; n <= 20 && i+n < len(lines); n++ {
		l := lines[i+n]
		if strings.TrimSpace(l) == "" || indent(l) <= len(m[1]) {
			break
		}
		msg += "\n" + strings.TrimSpace(l)
	}
	if st.test != "" {
		msg = st.test + ": " + msg
	}
	line, _ := strconv.Atoi(m[3])
	return n, []api.Diagnostic{{File: m[2], Line: line, Severity: sevError, Message: msg, Source: "go test"}}
}

// parseGoPanic takes a panic (or fatal error) with the first goroutine's
// stack; the position is the first frame in the user's code.
func parseGoPanic(st *state, lines []string, i int) (int, []api.Diagnostic) {
	m := goPanicRe.FindStringSubmatch(lines[i])
	if m == nil {
		return 0, nil
	}
	msg := m[2]
	for _, s := range []string{" [recovered, repanicked]", " [recovered]"} {
		msg = strings.TrimSuffix(msg, s)
	}
	msg = m[1] + ": " + msg
	source := "go"
	if st.test != "" {
		msg, source = st.test+": "+msg, "go test"
	}
	d := api.Diagnostic{Severity: sevError, Message: msg, Source: source}
	// A bare "fatal error: ..." is Go's only with a stack below it.
	bare := []api.Diagnostic{d}
	if m[1] == "fatal error" {
		bare = nil
	}

	// Up to the first goroutine: nested panics, the signal, a blank line.
	j := i + 1
	for ; j < len(lines) && j < i+20; j++ {
		l := lines[j]
		if goGorRe.MatchString(l) {
			break
		}
		if !(l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "[") ||
			strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ")) {
			return len(bare), bare
		}
	}
	if j >= len(lines) || !goGorRe.MatchString(lines[j]) {
		return len(bare), bare
	}
	// The goroutine's frames: a function line, then "\tfile:line +0x..".
	var fallback *api.Diagnostic
	found := false
	fn := ""
	for j++; j < len(lines) && lines[j] != ""; j++ {
		fm := goFrameRe.FindStringSubmatch(lines[j])
		if fm == nil {
			fn = lines[j]
			continue
		}
		if found {
			continue
		}
		line, _ := strconv.Atoi(fm[2])
		at := d
		at.File, at.Line = fm[1], line
		if goUserFrame(fn, fm[1]) {
			d, found = at, true
		} else if fallback == nil {
			fallback = &at
		}
	}
	if !found && fallback != nil {
		d = *fallback
	}
	return j - i, []api.Diagnostic{d}
}

// goUserFrame reports whether a stack frame (function line, file) is in
// the user's code: not the standard library, not the module cache.
func goUserFrame(fn, file string) bool {
	if strings.Contains(file, "/pkg/mod/") {
		return false
	}
	pkg := goFuncPackage(strings.TrimPrefix(fn, "created by "))
	if pkg == "" {
		return false // a builtin: panic(...)
	}
	if pkg == "main" {
		return true
	}
	first, _, _ := strings.Cut(pkg, "/")
	if strings.Contains(first, ".") {
		return true // a module path: example.com/app
	}
	// A std-looking path ("os", "net/http", or a module named "app") is
	// the standard library when its file is where GOROOT keeps it.
	return !strings.Contains(file, "/src/"+pkg+"/")
}

// goFuncPackage is the package path of a stack frame's function line:
// "example.com/app.(*T).M(0x1)" -> "example.com/app".
func goFuncPackage(fn string) string {
	name, _, _ := strings.Cut(fn, "(")
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return name[:slash+1+dot]
}
