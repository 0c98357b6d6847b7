package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuleSet_Ignored(t *testing.T) {
	type check struct {
		rel   string
		isDir bool
		want  bool
	}
	tests := []struct {
		name     string
		patterns []string
		checks   []check
	}{
		{"suffix", []string{"*.log"}, []check{
			{"a.log", false, true}, {"x/y/a.log", false, true}, {"a.log.txt", false, false},
		}},
		{"negation", []string{"*.log", "!keep.log"}, []check{
			{"a.log", false, true}, {"keep.log", false, false}, {"d/keep.log", false, false},
		}},
		{"negation order: last match wins", []string{"!keep.log", "*.log"}, []check{
			{"keep.log", false, true},
		}},
		{"dir only", []string{"build/"}, []check{
			{"build", true, true}, {"build", false, false}, {"src/build", true, true},
		}},
		{"anchored leading slash", []string{"/top.txt"}, []check{
			{"top.txt", false, true}, {"sub/top.txt", false, false},
		}},
		{"anchored inner slash", []string{"doc/*.html"}, []check{
			{"doc/a.html", false, true}, {"x/doc/a.html", false, false}, {"doc/sub/a.html", false, false},
		}},
		{"leading double star", []string{"**/gen"}, []check{
			{"gen", true, true}, {"a/b/gen", false, true}, {"a/gen/x", false, false},
		}},
		{"trailing double star", []string{"out/**"}, []check{
			{"out", true, false}, {"out/a", false, true}, {"out/a/b", true, true},
		}},
		{"middle double star", []string{"a/**/z"}, []check{
			{"a/z", false, true}, {"a/b/z", false, true}, {"a/b/c/z", true, true}, {"b/a/z", false, false},
		}},
		{"everything but go files", []string{"*", "!*/", "!*.go"}, []check{
			{"src", true, false}, {"src/main.go", false, false}, {"src/README.md", false, true},
		}},
		{"comments, blanks, escapes", []string{"# c", "", `\#hash`, `\!bang`, "trail   "}, []check{
			{"# c", false, false}, {"#hash", false, true}, {"!bang", false, true}, {"trail", false, true},
		}},
		{"char class", []string{"[ab].txt", "[!x]y"}, []check{
			{"a.txt", false, true}, {"c.txt", false, false}, {"zy", false, true}, {"xy", false, false},
		}},
		{"question mark", []string{"?.c"}, []check{
			{"a.c", false, true}, {"ab.c", false, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &ruleSet{base: "/r", pats: parsePatterns(tt.patterns)}
			for _, c := range tt.checks {
				if got := rs.ignored(c.rel, c.isDir); got != c.want {
					t.Errorf("ignored(%q, dir=%v) = %v, want %v", c.rel, c.isDir, got, c.want)
				}
			}
		})
	}
}

func TestRuleSet_Child(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	must(t, os.MkdirAll(sub, 0o755))
	writeFile(t, filepath.Join(root, ".gitignore"), "*.log\nbuild/\n")
	writeFile(t, filepath.Join(sub, ".gitignore"), "!keep.log\nlocal.txt\n/only-here\n")
	writeFile(t, filepath.Join(sub, ".loopignore"), "!local.txt\n")

	top := (&ruleSet{base: root, extra: parsePatterns([]string{"forced.txt"})}).child(root, true, false)
	rs := top.child(sub, true, true)
	tests := []struct {
		rs    *ruleSet
		path  string
		isDir bool
		want  bool
	}{
		{top, "a.log", false, true},
		{top, "keep.log", false, true},
		{rs, "sub/keep.log", false, false}, // negated by the nested file
		{rs, "sub/a.log", false, true},     // inherited
		{rs, "sub/local.txt", false, false},
		{rs, "sub/only-here", false, true}, // anchored to sub
		{rs, "sub/x/only-here", false, false},
		{rs, "sub/build", true, true},
		{rs, "sub/forced.txt", false, true}, // Options.Ignore
	}
	for _, tt := range tests {
		if got := tt.rs.ignoredPath(filepath.Join(root, tt.path), tt.isDir); got != tt.want {
			t.Errorf("ignored(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if got := top.child(filepath.Join(root, "none"), false, false); got != top {
		t.Errorf("child without ignore files = %p, want the parent's rules %p", got, top)
	}
}

func TestBuiltinIgnored(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".git", true}, {".main.go.swp", true}, {".main.go.swo", true}, {".main.go.swx", true},
		{"main.go~", true}, {".#main.go", true}, {"#main.go#", true}, {"4913", true},
		{"main.go___jb_tmp___", true}, {"main.go___jb_old___", true},
		{"main.go", false}, {".gitignore", false}, {"#", false}, {"x.tmp", false}, {"49130", false},
		{"a.swift", false},
	}
	for _, tt := range tests {
		if got := builtinIgnored(tt.name); got != tt.want {
			t.Errorf("builtinIgnored(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMatcher_Match(t *testing.T) {
	// hostPath spells a slash path the host's way: /p/a.tmp stays as it is
	// on Unix and is C:\p\a.tmp on Windows (the volume of the temp dir).
	vol := filepath.VolumeName(os.TempDir())
	hostPath := func(p string) string {
		if strings.HasPrefix(p, "/") {
			return vol + filepath.FromSlash(p)
		}
		return filepath.FromSlash(p)
	}
	m := NewMatcher(hostPath("/p"), []string{"node_modules/", "*.tmp", "!keep.tmp", "/dist"})
	tests := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"/p/node_modules", true, true},
		{"/p/node_modules/x/y.js", false, true}, // inside an ignored directory
		{"/p/web/node_modules/y.js", false, true},
		{"/p/a.tmp", false, true},
		{"/p/keep.tmp", false, false},
		{"/p/dist/app.js", false, true},
		{"/p/src/dist/app.js", false, false},
		{"src/a.tmp", false, true}, // relative to the root
		{"src/dist", true, false},
		{"/other/a.tmp", false, false},
		{"/px/a.tmp", false, false},
		{"/p", true, false},
		{"../a.tmp", false, false},
	}
	for _, tt := range tests {
		p := hostPath(tt.path)
		if got := m.Match(p, tt.isDir); got != tt.want {
			t.Errorf("Match(%q, %v) = %v, want %v", p, tt.isDir, got, tt.want)
		}
	}

	// A project at the root of a volume: "/" on Unix, C:\ on Windows.
	m = NewMatcher(hostPath("/"), []string{"/dist"})
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/dist/app.js", true},
		{"/src/dist/app.js", false},
	} {
		if got := m.Match(hostPath(tt.path), false); got != tt.want {
			t.Errorf("root matcher: Match(%q) = %v, want %v", hostPath(tt.path), got, tt.want)
		}
	}
}
