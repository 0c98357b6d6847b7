package gitops

import (
	"fmt"
	"slices"
	"strings"
)

// flow is a parsed one-line flow collection ("[{name: api, newTag: v1}]"):
// a scalar (raw text as written), a sequence or an ordered mapping. Edits
// to it re-render the whole collection in the same one-line style.
type flow struct {
	scalar string // raw, quotes included; set for scalars
	isSeq  bool
	isMap  bool
	items  []*flow
	keys   []string // isMap: keys in order, values in items
}

func (f *flow) get(key string) *flow {
	for i, k := range f.keys {
		if k == key {
			return f.items[i]
		}
	}
	return nil
}

func (f *flow) set(key string, v *flow) {
	for i, k := range f.keys {
		if k == key {
			f.items[i] = v
			return
		}
	}
	f.keys = append(f.keys, key)
	f.items = append(f.items, v)
}

// insertAfter adds key right after the key after (or at the end).
func (f *flow) insertAfter(after, key string, v *flow) {
	i := slices.Index(f.keys, after) + 1
	if i == 0 {
		i = len(f.keys)
	}
	f.keys = slices.Insert(f.keys, i, key)
	f.items = slices.Insert(f.items, i, v)
}

func (f *flow) del(key string) {
	for i, k := range f.keys {
		if k == key {
			f.keys = append(f.keys[:i:i], f.keys[i+1:]...)
			f.items = append(f.items[:i:i], f.items[i+1:]...)
			return
		}
	}
}

func (f *flow) String() string {
	var b strings.Builder
	f.render(&b)
	return b.String()
}

func (f *flow) render(b *strings.Builder) {
	switch {
	case f.isSeq:
		b.WriteByte('[')
		for i, it := range f.items {
			if i > 0 {
				b.WriteString(", ")
			}
			it.render(b)
		}
		b.WriteByte(']')
	case f.isMap:
		b.WriteByte('{')
		for i, k := range f.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			f.items[i].render(b)
		}
		b.WriteByte('}')
	default:
		b.WriteString(f.scalar)
	}
}

type flowParser struct {
	s string
	i int
}

func parseFlow(s string) (*flow, error) {
	p := &flowParser{s: s}
	f, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(s) {
		return nil, fmt.Errorf("flow collection %q: unexpected %q", s, s[p.i:])
	}
	return f, nil
}

func (p *flowParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *flowParser) value() (*flow, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("flow collection %q ends early", p.s)
	}
	switch p.s[p.i] {
	case '[':
		p.i++
		f := &flow{isSeq: true}
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				return f, nil
			}
			it, err := p.value()
			if err != nil {
				return nil, err
			}
			f.items = append(f.items, it)
			if err := p.sep(']'); err != nil {
				return nil, err
			}
		}
	case '{':
		p.i++
		f := &flow{isMap: true}
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return f, nil
			}
			k, err := p.scalar(true)
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, fmt.Errorf("flow mapping %q: missing ':' after %s", p.s, k)
			}
			p.i++
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			f.keys = append(f.keys, unquote(k))
			f.items = append(f.items, v)
			if err := p.sep('}'); err != nil {
				return nil, err
			}
		}
	}
	s, err := p.scalar(false)
	if err != nil {
		return nil, err
	}
	return &flow{scalar: s}, nil
}

// sep consumes a ',' or leaves the closing bracket for the caller.
func (p *flowParser) sep(closer byte) error {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ',' {
		p.i++
		return nil
	}
	if p.i < len(p.s) && p.s[p.i] == closer {
		return nil
	}
	return fmt.Errorf("flow collection %q: expected ',' or %q at offset %d", p.s, closer, p.i)
}

func (p *flowParser) scalar(key bool) (string, error) {
	p.space()
	start := p.i
	if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		end, ok := scalarEnd(p.s, p.i)
		if !ok {
			return "", fmt.Errorf("flow collection %q: unterminated string", p.s)
		}
		p.i = end
		return p.s[start:end], nil
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == ']' || c == '}' || c == '[' || c == '{' {
			break
		}
		if c == ':' && (key || p.i+1 == len(p.s) || p.s[p.i+1] == ' ' || p.s[p.i+1] == ',') {
			break
		}
		p.i++
	}
	s := strings.TrimRight(p.s[start:p.i], " ")
	if s == "" && key {
		return "", fmt.Errorf("flow collection %q: empty key at offset %d", p.s, start)
	}
	return s, nil
}
