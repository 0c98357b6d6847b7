package watch

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Ignore files read in every watched directory, in increasing priority.
const (
	gitignoreName  = ".gitignore"
	loopignoreName = ".loopignore"
)

// Matching follows gitignore(5) for one path at a time: the last pattern that
// matches decides, and a path inside an ignored directory is never looked at
// because the walker prunes ignored directories. go-git's gitignore package was
// tried first; it also matches patterns against every ancestor of a path, so
// the common "*" + "!*/" + "!*.go" idiom leaves src/README.md un-ignored. The
// matcher here matches the path itself and is covered by table tests.

// segment is one slash-separated part of a pattern, pre-classified so the
// common cases (a literal name, "*", "*.ext") avoid path.Match.
type segment struct {
	kind uint8 // segLiteral, segStar, segSuffix, segGlob, segDoubleStar
	text string
}

const (
	segLiteral = iota
	segStar
	segSuffix
	segGlob
	segDoubleStar
)

func newSegment(s string) segment {
	switch {
	case s == "**":
		return segment{kind: segDoubleStar}
	case s == "*":
		return segment{kind: segStar}
	case !strings.ContainsAny(s, `*?[\`):
		return segment{kind: segLiteral, text: s}
	case strings.HasPrefix(s, "*") && !strings.ContainsAny(s[1:], `*?[\`):
		return segment{kind: segSuffix, text: s[1:]}
	}
	// gitignore spells a negated class "[!...]"; path.Match wants "[^...]".
	return segment{kind: segGlob, text: strings.ReplaceAll(s, "[!", "[^")}
}

func (s segment) match(name string) bool {
	switch s.kind {
	case segLiteral:
		return name == s.text
	case segStar:
		return true
	case segSuffix:
		return strings.HasSuffix(name, s.text)
	case segGlob:
		ok, err := path.Match(s.text, name)
		return ok && err == nil
	}
	return false
}

// pattern is one parsed gitignore line.
type pattern struct {
	domain   string // "a/b/" for a pattern from a/b/.gitignore, "" at the base
	segs     []segment
	negate   bool
	dirOnly  bool
	anchored bool // contains a slash: matched against the whole path below domain
}

// parsePattern parses one gitignore line; ok is false for blanks and comments.
func parsePattern(line, domain string) (p pattern, ok bool) {
	line = strings.TrimSuffix(line, "\r")
	if line == "" || line[0] == '#' {
		return p, false
	}
	// Trailing spaces are dropped unless escaped with a backslash.
	for strings.HasSuffix(line, " ") && !strings.HasSuffix(line, `\ `) {
		line = line[:len(line)-1]
	}
	if strings.HasSuffix(line, `\ `) {
		line = line[:len(line)-2] + " "
	}
	if line == "" {
		return p, false
	}
	if line[0] == '!' {
		p.negate = true
		line = line[1:]
	} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		p.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if line == "" {
		return p, false
	}
	if strings.Contains(line, "/") {
		p.anchored = true
		line = strings.TrimPrefix(line, "/")
	}
	if domain != "" {
		p.domain = domain + "/"
	}
	for _, s := range strings.Split(line, "/") {
		if s == "" {
			continue
		}
		seg := newSegment(s)
		if seg.kind == segDoubleStar && len(p.segs) > 0 && p.segs[len(p.segs)-1].kind == segDoubleStar {
			continue
		}
		p.segs = append(p.segs, seg)
	}
	if len(p.segs) == 0 {
		return p, false
	}
	// "**/name" matches name at any depth, like an unanchored "name".
	if p.anchored && len(p.segs) == 2 && p.segs[0].kind == segDoubleStar && p.segs[1].kind != segDoubleStar {
		p.anchored = false
		p.segs = p.segs[1:]
	}
	return p, true
}

// match reports whether rel (slash-separated, relative to the rule base)
// matches the pattern, ignoring negation.
func (p *pattern) match(rel string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if p.domain != "" {
		if !strings.HasPrefix(rel, p.domain) {
			return false
		}
		rel = rel[len(p.domain):]
	}
	if !p.anchored {
		return p.segs[0].match(rel[strings.LastIndexByte(rel, '/')+1:])
	}
	return matchSegs(p.segs, rel)
}

// matchSegs matches pattern segments against the remaining path s.
func matchSegs(segs []segment, s string) bool {
	if len(segs) == 0 {
		return s == ""
	}
	if segs[0].kind == segDoubleStar {
		if len(segs) == 1 {
			return s != "" // "dir/**" matches everything inside dir
		}
		for {
			if matchSegs(segs[1:], s) {
				return true
			}
			i := strings.IndexByte(s, '/')
			if i < 0 {
				return false
			}
			s = s[i+1:]
		}
	}
	if s == "" {
		return false
	}
	head, rest := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		head, rest = s[:i], s[i+1:]
	}
	if !segs[0].match(head) {
		return false
	}
	if rest == "" {
		return len(segs) == 1
	}
	return matchSegs(segs[1:], rest)
}

// ruleSet is the ignore rules that apply inside one directory: the patterns
// of every ignore file from base down to that directory, then extra (the
// watch_settings patterns), which win over the files. Directories without
// ignore files share their parent's ruleSet; a ruleSet is never mutated.
type ruleSet struct {
	base  string // absolute directory that pattern domains are relative to
	pats  []pattern
	extra []pattern
}

// ignored reports whether the path rel (relative to rs.base, slash-separated)
// is ignored; its parent directories are assumed not to be.
func (rs *ruleSet) ignored(rel string, isDir bool) bool {
	for i := len(rs.extra) - 1; i >= 0; i-- {
		if rs.extra[i].match(rel, isDir) {
			return !rs.extra[i].negate
		}
	}
	for i := len(rs.pats) - 1; i >= 0; i-- {
		if rs.pats[i].match(rel, isDir) {
			return !rs.pats[i].negate
		}
	}
	return false
}

// rel returns abs relative to rs.base with forward slashes, or ok=false when
// abs is rs.base itself or outside it.
func (rs *ruleSet) rel(abs string) (string, bool) {
	if len(abs) <= len(rs.base) || !strings.HasPrefix(abs, rs.base) {
		return "", false
	}
	rest := abs[len(rs.base):]
	if rs.base[len(rs.base)-1] != filepath.Separator { // only a root ("/", `C:\`) ends with one
		if rest[0] != filepath.Separator {
			return "", false
		}
		rest = rest[1:]
	}
	// Patterns are slash-separated: on Windows `dist\app.js` becomes dist/app.js.
	return filepath.ToSlash(rest), true
}

// ignoredPath reports whether the absolute path abs is ignored by rs.
func (rs *ruleSet) ignoredPath(abs string, isDir bool) bool {
	rel, ok := rs.rel(abs)
	return ok && rs.ignored(rel, isDir)
}

// child returns the rules for directory dir (a child of the directory rs
// belongs to) after reading its ignore files; rs itself when it has none.
func (rs *ruleSet) child(dir string, hasGit, hasLoop bool) *ruleSet {
	if !hasGit && !hasLoop {
		return rs
	}
	domain, _ := rs.rel(dir)
	var add []pattern
	if hasGit {
		add = appendPatternFile(add, filepath.Join(dir, gitignoreName), domain)
	}
	if hasLoop {
		add = appendPatternFile(add, filepath.Join(dir, loopignoreName), domain)
	}
	if len(add) == 0 {
		return rs
	}
	pats := make([]pattern, 0, len(rs.pats)+len(add))
	pats = append(append(pats, rs.pats...), add...)
	return &ruleSet{base: rs.base, pats: pats, extra: rs.extra}
}

func appendPatternFile(dst []pattern, file, domain string) []pattern {
	data, err := os.ReadFile(file)
	if err != nil {
		return dst
	}
	return appendPatterns(dst, bytes.NewReader(data), domain)
}

func appendPatterns(dst []pattern, r *bytes.Reader, domain string) []pattern {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := parsePattern(sc.Text(), domain); ok {
			dst = append(dst, p)
		}
	}
	return dst
}

func parsePatterns(lines []string) []pattern {
	var ps []pattern
	for _, l := range lines {
		if p, ok := parsePattern(l, ""); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// builtinIgnored reports names that are never watched or reported whatever
// the ignore files say: .git and well-known editor temporary files.
func builtinIgnored(name string) bool {
	switch {
	case name == ".git", name == "4913": // 4913: vim's probe file
		return true
	case strings.HasSuffix(name, "~"): // backup files (vim, emacs, gedit)
		return true
	case strings.HasPrefix(name, ".#"): // emacs lock files
		return true
	case len(name) > 1 && name[0] == '#' && name[len(name)-1] == '#': // emacs auto-save
		return true
	case strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"): // JetBrains safe write
		return true
	}
	// vim swap files: .swp, .swo, ... .swa, and .swx (vim's directory probe).
	if n := len(name); n >= 4 && name[n-4:n-1] == ".sw" {
		c := name[n-1]
		return (c >= 'a' && c <= 'p') || c == 'x'
	}
	return false
}

// Matcher matches paths against gitignore-style patterns relative to a root.
// It is how the engine applies a resource's own ignore= patterns. A Matcher
// is immutable and safe for concurrent use.
type Matcher struct {
	rules ruleSet
}

// NewMatcher returns a Matcher for patterns (gitignore syntax: "!" negates, a
// trailing "/" matches directories only, a leading or inner "/" anchors the
// pattern to root, "**" matches any number of directories).
func NewMatcher(root string, patterns []string) *Matcher {
	return &Matcher{rules: ruleSet{base: filepath.Clean(root), pats: parsePatterns(patterns)}}
}

// Match reports whether path (absolute, or relative to the root) is ignored,
// either itself or because one of its parent directories below the root is.
// Paths outside the root never match.
func (m *Matcher) Match(p string, isDir bool) bool {
	var rel string
	if filepath.IsAbs(p) {
		r, ok := m.rules.rel(filepath.Clean(p))
		if !ok {
			return false
		}
		rel = r
	} else {
		rel = filepath.ToSlash(filepath.Clean(p))
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			return false
		}
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && m.rules.ignored(rel[:i], true) {
			return true
		}
	}
	return m.rules.ignored(rel, isDir)
}
