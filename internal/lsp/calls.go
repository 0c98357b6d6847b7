package lsp

// Where the cursor is in terms of calls: a small scanner over the text
// before the cursor that skips strings and comments and keeps a stack of
// open brackets. It works on text that does not parse, which is the usual
// state of a file being typed.

import (
	"regexp"
	"strings"
)

// frame is one open bracket.
type frame struct {
	open       byte     // '(', '[' or '{'
	fn         string   // for '(': the name called ("" when not a plain name call)
	argStart   int      // byte offset where the argument in progress starts
	positional int      // completed positional arguments
	keywords   []string // keywords of the completed arguments
}

// callContext describes the innermost call around the cursor.
type callContext struct {
	fn         string
	positional int      // positional arguments before the one in progress
	keywords   []string // keywords already given
	current    string   // the text of the argument in progress, up to the cursor
	keyword    string   // the argument in progress is `keyword = ...`
	nested     bool     // the cursor is inside a bracket within the argument (deps=[|)
}

var (
	keywordArg  = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?:[^=]|$)`)
	identPrefix = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*$|^\s*$`)
)

// scanBrackets returns the brackets open at off, and whether off is inside
// a string literal or a comment.
func scanBrackets(text string, off int) (frames []frame, inLiteral bool) {
	off = min(max(off, 0), len(text))
	for i := 0; i < off; i++ {
		switch c := text[i]; c {
		case '#':
			nl := strings.IndexByte(text[i:], '\n')
			if nl < 0 || i+nl >= off {
				return frames, true
			}
			i += nl
		case '"', '\'':
			end, closed := skipString(text, i)
			if !closed && end >= off || end > off {
				return frames, true
			}
			i = end - 1
		case '(', '[', '{':
			f := frame{open: c, argStart: i + 1}
			if c == '(' {
				f.fn = calleeBefore(text, i)
			}
			frames = append(frames, f)
		case ')', ']', '}':
			if len(frames) > 0 {
				frames = frames[:len(frames)-1]
			}
		case ',':
			if len(frames) > 0 {
				f := &frames[len(frames)-1]
				arg := text[f.argStart:i]
				if m := keywordArg.FindStringSubmatch(arg); m != nil {
					f.keywords = append(f.keywords, m[1])
				} else if strings.TrimSpace(arg) != "" {
					f.positional++
				}
				f.argStart = i + 1
			}
		}
	}
	return frames, false
}

// skipString returns the offset just past the string literal that starts
// at i, and whether it was closed. A one-line string ends at a newline.
func skipString(text string, i int) (int, bool) {
	q := text[i]
	if strings.HasPrefix(text[i:], strings.Repeat(string(q), 3)) {
		end := i + 3
		for end < len(text) {
			if text[end] == '\\' {
				end += 2
				continue
			}
			if strings.HasPrefix(text[end:], strings.Repeat(string(q), 3)) {
				return end + 3, true
			}
			end++
		}
		return len(text), false
	}
	for end := i + 1; end < len(text); end++ {
		switch text[end] {
		case '\\':
			end++
		case '\n':
			return end, false
		case q:
			return end + 1, true
		}
	}
	return len(text), false
}

// calleeBefore returns the plain name just before the '(' at i, or "" when
// there is none or it is an attribute (x.f) or a keyword.
func calleeBefore(text string, i int) string {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t') {
		j--
	}
	name, start, _ := wordAt(text, j)
	if name == "" || start+len(name) != j {
		return ""
	}
	if start > 0 && text[start-1] == '.' {
		return ""
	}
	switch name {
	case "if", "elif", "for", "in", "and", "or", "not", "return", "lambda", "def":
		return ""
	}
	return name
}

// callAt returns the innermost named call around off.
func callAt(text string, off int) (callContext, bool) {
	frames, inLiteral := scanBrackets(text, off)
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if f.open != '(' || f.fn == "" {
			continue
		}
		c := callContext{
			fn:         f.fn,
			positional: f.positional,
			keywords:   f.keywords,
			current:    text[f.argStart:min(max(off, f.argStart), len(text))],
			nested:     i < len(frames)-1 || inLiteral,
		}
		if m := keywordArg.FindStringSubmatch(c.current); m != nil {
			c.keyword = m[1]
		}
		return c, true
	}
	return callContext{}, false
}

// inLiteral reports whether off is inside a string or a comment.
func inLiteral(text string, off int) bool {
	_, lit := scanBrackets(text, off)
	return lit
}
