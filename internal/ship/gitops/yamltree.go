package gitops

import (
	"fmt"
	"strings"
)

// The YAML editing here works on lines, not on a decoded document, so
// that everything loop does not change (comments, key order, quoting,
// blank lines, indentation) stays byte for byte. A small parser locates the
// block structure (mappings, sequences, scalars, one-line flow
// collections) of a document; edits replace scalar spans or insert and
// delete whole lines. Every edited file is decoded again afterwards and
// checked (see verify), so a layout this parser misreads is an error, never
// a wrong commit.

type nodeKind int

const (
	nullNode   nodeKind = iota // "key:" with nothing after it
	scalarNode                 // a one-line plain or quoted scalar
	mapNode
	seqNode
	flowNode  // a one-line [..] or {..} collection
	otherNode // a block scalar or a multi-line flow collection: not editable
)

// node is a located piece of YAML. Lines are indexes into doc.lines;
// columns are byte offsets.
type node struct {
	kind        nodeKind
	col         int
	first, last int // lines spanned
	// scalarNode, nullNode, flowNode: the value's text is lines[line][start:end]
	line, start, end int
	entries          []*entry // mapNode
	items            []*node  // seqNode
}

type entry struct {
	key       string
	line, col int // where the key starts
	value     *node
}

func (n *node) get(key string) *entry {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for _, e := range n.entries {
		if e.key == key {
			return e
		}
	}
	return nil
}

// parser walks lines[from:to]. col >= 0 means the current line was
// partly consumed (after "- ") and content resumes at col.
type parser struct {
	lines []string
	i, to int
	col   int
}

func isBlank(s string) bool {
	t := strings.TrimLeft(s, " ")
	return t == "" || t[0] == '#'
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// parseDoc parses lines[from:to] as one YAML document's block structure.
func parseDoc(lines []string, from, to int) (*node, error) {
	p := &parser{lines: lines, i: from, to: to, col: -1}
	n := p.parseNode(-1, false)
	p.skipBlank()
	if p.i < p.to {
		return nil, fmt.Errorf("line %d: unexpected indentation or syntax the editor does not understand", p.i+1)
	}
	return n, nil
}

func (p *parser) skipBlank() {
	if p.col >= 0 {
		return
	}
	for p.i < p.to && isBlank(p.lines[p.i]) {
		p.i++
	}
}

// cur returns the current line and the column its content starts at.
func (p *parser) cur() (string, int, bool) {
	p.skipBlank()
	if p.i >= p.to {
		return "", 0, false
	}
	s := p.lines[p.i]
	if p.col >= 0 {
		return s, p.col, true
	}
	return s, indentOf(s), true
}

func isSeqItem(rest string) bool { return rest == "-" || strings.HasPrefix(rest, "- ") }

// parseNode parses the node starting at the cursor, which must be indented
// deeper than parent (or at parent's column for a sequence when
// sameColSeq: "key:\n- a").
func (p *parser) parseNode(parent int, sameColSeq bool) *node {
	s, c, ok := p.cur()
	if !ok || c < parent || (c == parent && !(sameColSeq && isSeqItem(s[c:]))) {
		return nil
	}
	rest := s[c:]
	if isSeqItem(rest) {
		return p.parseSeq(c)
	}
	if _, _, ok := splitKey(s, c); ok {
		return p.parseMap(c)
	}
	return p.parseValue(s, c, parent)
}

func (p *parser) parseSeq(col int) *node {
	n := &node{kind: seqNode, col: col, first: p.i}
	for {
		s, c, ok := p.cur()
		if !ok || c != col || !isSeqItem(s[c:]) {
			break
		}
		n.last = p.i
		ac := c + 1
		for ac < len(s) && s[ac] == ' ' {
			ac++
		}
		var item *node
		if ac >= len(s) || s[ac] == '#' {
			p.i++
			p.col = -1
			item = p.parseNode(col, false)
		} else {
			p.col = ac
			item = p.parseNode(col, false)
		}
		p.col = -1
		if item == nil {
			item = &node{kind: nullNode, line: n.last, start: len(s), end: len(s), first: n.last, last: n.last}
		}
		n.items = append(n.items, item)
		n.last = max(n.last, item.last)
	}
	return n
}

func (p *parser) parseMap(col int) *node {
	n := &node{kind: mapNode, col: col, first: p.i}
	for {
		s, c, ok := p.cur()
		if !ok || c != col {
			break
		}
		key, vs, ok := splitKey(s, c)
		if !ok {
			break
		}
		e := &entry{key: key, line: p.i, col: c}
		n.last = p.i
		colon := vs
		for vs < len(s) && s[vs] == ' ' {
			vs++
		}
		if vs >= len(s) || s[vs] == '#' {
			keyLine := p.i
			p.i++
			p.col = -1
			e.value = p.parseNode(col, true)
			if e.value == nil {
				e.value = &node{kind: nullNode, line: keyLine, start: colon, end: colon, first: keyLine, last: keyLine}
			}
		} else {
			e.value = p.parseValue(s, vs, col)
		}
		p.col = -1
		n.entries = append(n.entries, e)
		n.last = max(n.last, e.value.last)
	}
	return n
}

// parseValue parses the value starting at s[c:] on the current line and
// moves past it; parent is the column of the enclosing key or dash.
func (p *parser) parseValue(s string, c, parent int) *node {
	line := p.i
	p.i++
	p.col = -1
	n := &node{col: c, first: line, last: line, line: line, start: c}
	switch s[c] {
	case '|', '>':
		n.kind = otherNode
		p.skipDeeper(parent, n)
	case '[', '{':
		end, ok := flowEnd(s, c)
		if !ok {
			n.kind = otherNode
			p.skipDeeper(parent, n)
			return n
		}
		n.kind, n.end = flowNode, end
	default:
		end, ok := scalarEnd(s, c)
		if !ok {
			n.kind = otherNode
			p.skipDeeper(parent, n)
			return n
		}
		n.kind, n.end = scalarNode, end
		// A plain scalar continued on deeper lines is not editable.
		if p.continues(parent) {
			n.kind = otherNode
			p.skipDeeper(parent, n)
		}
	}
	return n
}

// continues reports whether the next content line continues a plain
// scalar (deeper than parent and not a key or a dash of its own).
func (p *parser) continues(parent int) bool {
	for j := p.i; j < p.to; j++ {
		if isBlank(p.lines[j]) {
			continue
		}
		return indentOf(p.lines[j]) > parent && !p.startsStructure(j)
	}
	return false
}

// startsStructure reports whether line j, deeper than parent, is legitimately
// a sibling in an enclosing inline mapping ("- name: a\n  tag: b").
func (p *parser) startsStructure(j int) bool {
	s := p.lines[j]
	c := indentOf(s)
	if isSeqItem(s[c:]) {
		return true
	}
	_, _, ok := splitKey(s, c)
	return ok
}

func (p *parser) skipDeeper(parent int, n *node) {
	for p.i < p.to && (isBlank(p.lines[p.i]) || indentOf(p.lines[p.i]) > parent) {
		if !isBlank(p.lines[p.i]) {
			n.last = p.i
		}
		p.i++
	}
}

// splitKey recognises "key: ..." or "key:" at column c and returns the key
// and the offset just after the colon.
func splitKey(s string, c int) (string, int, bool) {
	if c >= len(s) || isSeqItem(s[c:]) {
		return "", 0, false
	}
	switch s[c] {
	case '"', '\'':
		end, ok := scalarEnd(s, c)
		if !ok || end >= len(s) || s[end] != ':' || (end+1 < len(s) && s[end+1] != ' ') {
			return "", 0, false
		}
		return unquote(s[c:end]), end + 1, true
	case '[', '{', '#', '|', '>', '&', '*', '!', '%', '@', '`':
		return "", 0, false
	}
	for j := c; j < len(s); j++ {
		if s[j] == '#' && j > c && s[j-1] == ' ' {
			return "", 0, false
		}
		if s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ') {
			return strings.TrimRight(s[c:j], " "), j + 1, true
		}
	}
	return "", 0, false
}

// scalarEnd returns the end of the one-line scalar starting at s[c:],
// before any trailing comment.
func scalarEnd(s string, c int) (int, bool) {
	switch s[c] {
	case '"':
		for j := c + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	case '\'':
		for j := c + 1; j < len(s); j++ {
			if s[j] == '\'' {
				if j+1 < len(s) && s[j+1] == '\'' {
					j++
					continue
				}
				return j + 1, true
			}
		}
		return 0, false
	}
	end := len(s)
	if k := strings.Index(s[c:], " #"); k >= 0 {
		end = c + k
	}
	return len(strings.TrimRight(s[:end], " ")), true
}

// flowEnd returns the end of the one-line flow collection at s[c:].
func flowEnd(s string, c int) (int, bool) {
	depth := 0
	for j := c; j < len(s); j++ {
		switch s[j] {
		case '"', '\'':
			end, ok := scalarEnd(s, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}
