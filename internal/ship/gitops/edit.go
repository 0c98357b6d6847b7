package gitops

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// errFieldMissing marks a Field path that does not exist in the file.
var errFieldMissing = errors.New("field not found")

// document is a YAML file split into lines, with the edits planned on it.
type document struct {
	lines    []string
	eol      string // "\n" or "\r\n"
	finalEOL bool
	docs     [][2]int // [from, to) line ranges of the YAML documents
	edits    []lineEdit
}

// lineEdit replaces lines[line][start:end] with text; with insert, text is
// a new line added after line; with remove, line is deleted.
type lineEdit struct {
	line, start, end int
	text             string
	insert, remove   bool
}

func newDocument(src string) *document {
	d := &document{eol: "\n"}
	if strings.Contains(src, "\r\n") {
		d.eol = "\r\n"
		src = strings.ReplaceAll(src, "\r\n", "\n")
	}
	d.finalEOL = strings.HasSuffix(src, "\n")
	src = strings.TrimSuffix(src, "\n")
	d.lines = strings.Split(src, "\n")
	from := 0
	for i, l := range d.lines {
		if l == "---" || strings.HasPrefix(l, "--- ") || l == "..." {
			d.docs = append(d.docs, [2]int{from, i})
			from = i + 1
		} else if strings.HasPrefix(l, "%") && i == from {
			from = i + 1 // a directive
		}
	}
	d.docs = append(d.docs, [2]int{from, len(d.lines)})
	return d
}

func (d *document) String() string {
	lines := append([]string(nil), d.lines...)
	// Same-line replacements right to left, then line inserts/removals
	// bottom up, so earlier positions stay valid.
	edits := append([]lineEdit(nil), d.edits...)
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].line != edits[j].line {
			return edits[i].line > edits[j].line
		}
		return edits[i].start > edits[j].start
	})
	for _, e := range edits {
		if !e.insert && !e.remove {
			l := lines[e.line]
			lines[e.line] = l[:e.start] + e.text + l[e.end:]
		}
	}
	for _, e := range edits {
		switch {
		case e.insert:
			lines = append(lines[:e.line+1], append([]string{e.text}, lines[e.line+1:]...)...)
		case e.remove:
			lines = append(lines[:e.line], lines[e.line+1:]...)
		}
	}
	s := strings.Join(lines, d.eol)
	if d.finalEOL {
		s += d.eol
	}
	return s
}

func (d *document) replace(n *node, text string) {
	d.edits = append(d.edits, lineEdit{line: n.line, start: n.start, end: n.end, text: text})
}

func (d *document) text(n *node) string { return d.lines[n.line][n.start:n.end] }

// segment is one step of a Field path: a mapping key or a sequence index.
type segment struct {
	key   string
	index int // -1 for a key
}

func (s segment) String() string {
	if s.index >= 0 {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return s.key
}

var segRE = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// parseField splits "spec.template.spec.containers[0].image".
func parseField(field string) ([]segment, error) {
	var segs []segment
	for _, part := range strings.Split(field, ".") {
		m := segRE.FindStringSubmatch(part)
		if m == nil || (m[1] == "" && m[2] == "") {
			return nil, fmt.Errorf("field %q: bad path element %q: want key, key[0] or key[0][1]", field, part)
		}
		if m[1] != "" {
			if n, err := strconv.Atoi(m[1]); err == nil && len(segs) > 0 {
				segs = append(segs, segment{index: n}) // "containers.0"
			} else {
				segs = append(segs, segment{key: m[1], index: -1})
			}
		}
		for _, ix := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			if ix == "" {
				continue
			}
			n, _ := strconv.Atoi(ix)
			segs = append(segs, segment{index: n})
		}
	}
	return segs, nil
}

// setField plans setting the scalar at path to value in the first YAML
// document that has the path. It reports whether the value already was
// that.
func (d *document) setField(segs []segment, value string) (unchanged bool, err error) {
	var lastErr error
	for _, r := range d.docs {
		root, err := parseDoc(d.lines, r[0], r[1])
		if err != nil {
			return false, err
		}
		unchanged, err := d.setIn(root, segs, value)
		if errors.Is(err, errFieldMissing) {
			lastErr = err
			continue
		}
		return unchanged, err
	}
	return false, lastErr
}

func (d *document) setIn(n *node, segs []segment, value string) (bool, error) {
	for i, s := range segs {
		path := pathString(segs[:i+1])
		if n != nil && n.kind == flowNode {
			return d.setInFlow(n, segs[i:], value, pathString(segs[:i]))
		}
		parent := pathString(segs[:i])
		if parent == "" {
			parent = "the document"
		}
		switch {
		case s.index < 0 && n != nil && n.kind == mapNode:
			e := n.get(s.key)
			if e == nil {
				keys := make([]string, len(n.entries))
				for j, e := range n.entries {
					keys[j] = e.key
				}
				return false, fmt.Errorf("%w: %s (%s has %s)", errFieldMissing, path, parent, listOrNone(keys))
			}
			n = e.value
		case s.index >= 0 && n != nil && n.kind == seqNode:
			if s.index >= len(n.items) {
				return false, fmt.Errorf("%w: %s (the list has %d items)", errFieldMissing, path, len(n.items))
			}
			n = n.items[s.index]
		default:
			return false, fmt.Errorf("%w: %s (%s is %s)", errFieldMissing, path, parent, kindName(n))
		}
	}
	switch n.kind {
	case scalarNode:
		old := d.text(n)
		if unquote(old) == value {
			return true, nil
		}
		d.replace(n, quoteLike(value, old))
	case nullNode:
		d.replace(n, " "+quoteLike(value, ""))
	default:
		return false, fmt.Errorf("%s is not a one-line scalar: loop can only set a plain or quoted value there", pathString(segs))
	}
	return false, nil
}

func (d *document) setInFlow(n *node, segs []segment, value, prefix string) (bool, error) {
	f, err := parseFlow(d.text(n))
	if err != nil {
		return false, err
	}
	cur := f
	for i, s := range segs {
		path := pathString(append(parseFieldMust(prefix), segs[:i+1]...))
		var next *flow
		switch {
		case s.index < 0 && cur.isMap:
			next = cur.get(s.key)
		case s.index >= 0 && cur.isSeq && s.index < len(cur.items):
			next = cur.items[s.index]
		}
		if next == nil {
			parent := pathString(append(parseFieldMust(prefix), segs[:i]...))
			switch {
			case s.index < 0 && cur.isMap:
				return false, fmt.Errorf("%w: %s (%s has %s)", errFieldMissing, path, parent, listOrNone(cur.keys))
			case s.index >= 0 && cur.isSeq:
				return false, fmt.Errorf("%w: %s (the list has %d items)", errFieldMissing, path, len(cur.items))
			}
			return false, fmt.Errorf("%w: %s (%s is %s)", errFieldMissing, path, parent, flowKindName(cur))
		}
		if i == len(segs)-1 {
			if next.isMap || next.isSeq {
				return false, fmt.Errorf("%s is a collection, not a scalar", path)
			}
			if unquote(next.scalar) == value {
				return true, nil
			}
			next.scalar = quoteLike(value, next.scalar)
		}
		cur = next
	}
	d.replace(n, f.String())
	return false, nil
}

func parseFieldMust(p string) []segment {
	if p == "" {
		return nil
	}
	s, _ := parseField(p)
	return s
}

func pathString(segs []segment) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && s.index < 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// unquote returns the value of a one-line scalar as written.
func unquote(s string) string {
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	return s
}

var (
	plainRE     = regexp.MustCompile(`^[A-Za-z0-9_./][A-Za-z0-9_./@:+-]*$`)
	ambiguousRE = regexp.MustCompile(`^(?i:y|n|yes|no|on|off|true|false|null|~|[-+]?[0-9][0-9_.:eE+-]*|0x[0-9a-f]+|0o[0-7]+)$`)
)

// quoteLike renders v in the quoting style of old where that is safe.
func quoteLike(v, old string) string {
	switch {
	case strings.HasPrefix(old, "'") && !strings.Contains(v, "\n"):
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case strings.HasPrefix(old, `"`):
		return strconv.Quote(v)
	case plainRE.MatchString(v) && !ambiguousRE.MatchString(v) && !strings.HasSuffix(v, ":"):
		return v
	}
	return strconv.Quote(v)
}

// listOrNone lists the keys a mapping has, for an error.
func listOrNone(keys []string) string {
	if len(keys) == 0 {
		return "no keys"
	}
	return "keys " + strings.Join(keys, ", ")
}

// kindName says what a node is, for an error.
func kindName(n *node) string {
	if n == nil {
		return "missing"
	}
	switch n.kind {
	case nullNode:
		return "empty"
	case scalarNode:
		return "a scalar"
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	}
	return "a block scalar or multi-line collection"
}

func flowKindName(f *flow) string {
	switch {
	case f.isMap:
		return "a mapping"
	case f.isSeq:
		return "a list"
	}
	return "a scalar"
}
