package diag

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/loopdev/loop/api"
)

// The generic form most compilers and linters share (gcc, clang, shellcheck
// -f gcc, mypy, Python warnings, make):
//
//	path/to/file.ext:LINE:COL: message
//	file.ext:LINE: message
//
// at the start of a line. To stay off ordinary log lines the path must have
// no spaces and an extension that starts with a letter; a path without a
// directory must also have a source file extension (or be a build file
// like Makefile), so "example.com:8080: ..." and "10.0.0.1:80: ..." are
// not diagnostics. Timestamps ("12:30:45") and URLs ("http://host:8080/x")
// never have an extension before their first colon.

var genericRe = regexp.MustCompile(`^((?:[A-Za-z]:[/\\])?[^\s:"'<>|()\[\]]+):(\d+)(?::(\d+))?:\s+(\S.*)$`)

// sourceExts are extensions trusted without a directory in the path.
var sourceExts = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`
		go rs py pyi js jsx mjs cjs ts tsx mts cts vue svelte astro
		c h cc cpp cxx hpp hh hxx m mm cs fs java kt kts scala groovy gradle swift dart
		rb erb php pl pm lua ex exs erl hrl hs ml mli clj cljs elm zig nim jl r
		sh bash zsh fish ps1 sql proto graphql gql tf hcl star bzl nix cmake mk
		css scss sass less html htm xml json jsonc yaml yml toml ini cfg conf md rst`) {
		sourceExts[e] = true
	}
}

// buildFiles are names without an extension that tools report on.
var buildFiles = map[string]bool{
	"Makefile": true, "makefile": true, "GNUmakefile": true, "Dockerfile": true,
	"Containerfile": true, "Loopfile": true, "Tiltfile": true, "Justfile": true, "justfile": true,
	"BUILD": true, "WORKSPACE": true, "Jenkinsfile": true, "Gemfile": true, "Rakefile": true,
}

// parseGeneric takes a file:line[:col]: message line.
func parseGeneric(l string) (api.Diagnostic, bool) {
	m := genericRe.FindStringSubmatch(l)
	if m == nil || !genericPath(m[1]) {
		return api.Diagnostic{}, false
	}
	line, err := strconv.Atoi(m[2])
	if err != nil || line <= 0 || line > 10_000_000 {
		return api.Diagnostic{}, false
	}
	col, _ := strconv.Atoi(m[3])
	sev, msg := genericSeverity(m[4])
	if msg == "" {
		return api.Diagnostic{}, false
	}
	return api.Diagnostic{File: m[1], Line: line, Col: col, Severity: sev, Message: msg, Source: "generic"}, true
}

// genericPath reports whether p looks like a file a tool reports on.
func genericPath(p string) bool {
	slashed := strings.ReplaceAll(p, `\`, "/")
	base := path.Base(slashed)
	if buildFiles[base] {
		return true
	}
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 {
		return false
	}
	ext := base[dot+1:]
	if ext == "" || !isLetter(ext[0]) {
		return false
	}
	if strings.Contains(slashed, "/") {
		return true
	}
	return sourceExts[strings.ToLower(ext)]
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// genericSeverity reads the severity from the message's start ("error:",
// "warning:", "note:", or a Python warning category such as
// "DeprecationWarning:"), and drops a plain severity prefix from it.
func genericSeverity(msg string) (sev, rest string) {
	word, after, ok := strings.Cut(msg, ":")
	w := strings.ToLower(strings.TrimSpace(word))
	switch {
	case ok && (w == "error" || w == "fatal error"):
		return sevError, strings.TrimSpace(after)
	case ok && w == "warning":
		return sevWarning, strings.TrimSpace(after)
	case ok && (w == "note" || w == "info"):
		return sevInfo, strings.TrimSpace(after)
	case strings.HasPrefix(w, "warning") || ok && strings.HasSuffix(word, "Warning") && !strings.Contains(word, " "):
		return sevWarning, msg
	}
	return sevError, msg
}
