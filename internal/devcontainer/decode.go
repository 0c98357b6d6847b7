package devcontainer

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"github.com/tailscale/hujson"
)

// source is one parsed JSONC file: its text, for turning hujson's byte
// offsets into line:col, and its path, for errors and warnings.
type source struct {
	file    string // absolute
	display string // in warnings: relative to the project when possible
	text    []byte
}

// MaxDepth bounds how deeply arrays and objects nest in a JSONC file: the
// parser recurses once per level, and a few megabytes of "[[[[" would
// exhaust the stack (a fatal error, not a panic).
const MaxDepth = 1000

// parse parses text as JSONC; a syntax error is an *Error at its position.
func (s *source) parse() (hujson.Value, error) {
	s.text = bytes.TrimPrefix(s.text, []byte("\ufeff"))
	if off := tooDeep(s.text, MaxDepth); off >= 0 {
		line, col := s.position(off)
		return hujson.Value{}, &Error{File: s.file, Line: line, Col: col,
			Msg:  fmt.Sprintf("arrays and objects nest more than %d deep (devcontainer.MaxDepth)", MaxDepth),
			Hint: "devcontainer.json is JSON with comments"}
	}
	v, err := hujson.Parse(s.text)
	if err != nil {
		return v, s.syntaxError(err)
	}
	return v, nil
}

// tooDeep returns the offset of the bracket that opens level max+1 of
// JSONC text (strings and comments skipped), or -1.
func tooDeep(text []byte, max int) int {
	depth := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			for i++; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := bytes.Index(text[i+2:], []byte("*/"))
			if end < 0 {
				return -1 // the parser reports the unterminated comment
			}
			i += 2 + end + 1
		case c == '[' || c == '{':
			if depth++; depth > max {
				return i
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return -1
}

// hujson reports "hujson: line L, column C: msg".
var syntaxErrRE = regexp.MustCompile(`(?s)^hujson: line (\d+), column (\d+): (.*)$`)

func (s *source) syntaxError(err error) *Error {
	e := &Error{File: s.file, Msg: "syntax error: " + err.Error(), Hint: "devcontainer.json is JSON with comments"}
	if m := syntaxErrRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col, _ = strconv.Atoi(m[2])
		e.Msg = "syntax error: " + m[3]
	}
	return e
}

// position converts a byte offset into a 1-based line and column.
func (s *source) position(off int) (line, col int) {
	if off > len(s.text) {
		off = len(s.text)
	}
	line = 1 + bytes.Count(s.text[:off], []byte("\n"))
	col = 1 + off - (bytes.LastIndexByte(s.text[:off], '\n') + 1)
	return line, col
}

// errAt is an *Error at v's first byte.
func (s *source) errAt(v *hujson.Value, hint, format string, args ...any) *Error {
	line, col := s.position(v.StartOffset)
	return &Error{File: s.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// warnAt renders a warning at v's first byte.
func (s *source) warnAt(v *hujson.Value, format string, args ...any) string {
	line, col := s.position(v.StartOffset)
	return fmt.Sprintf("%s:%d:%d: %s", s.display, line, col, fmt.Sprintf(format, args...))
}

// member is one property of an object: its name and value nodes.
type member struct {
	name string
	key  *hujson.Value
	val  *hujson.Value
}

// members lists an object's properties in source order; a later duplicate
// replaces an earlier one (as in JSON.parse), keeping the later position.
func members(obj *hujson.Object) []member {
	var out []member
	index := map[string]int{}
	for i := range obj.Members {
		m := &obj.Members[i]
		name := m.Name.Value.(hujson.Literal).String()
		mem := member{name: name, key: &m.Name, val: &m.Value}
		if j, ok := index[name]; ok {
			out[j] = mem
			continue
		}
		index[name] = len(out)
		out = append(out, mem)
	}
	return out
}

// kindName names a value's JSON type for messages.
func kindName(v *hujson.Value) string {
	switch t := v.Value.(type) {
	case *hujson.Object:
		return "an object"
	case *hujson.Array:
		return "an array"
	case hujson.Literal:
		switch t.Kind() {
		case 'n':
			return "null"
		case 't', 'f':
			return "a boolean"
		case '"':
			return "a string"
		case '0':
			return "a number"
		}
	}
	return "an invalid value"
}

func isNull(v *hujson.Value) bool {
	l, ok := v.Value.(hujson.Literal)
	return ok && l.Kind() == 'n'
}

func isString(v *hujson.Value) bool {
	l, ok := v.Value.(hujson.Literal)
	return ok && l.Kind() == '"'
}

// typeError is the error for a value of the wrong JSON type.
func (s *source) typeError(v *hujson.Value, what, want string) *Error {
	return s.errAt(v, "", "%s: want %s, got %s", what, want, kindName(v))
}

func (s *source) object(v *hujson.Value, what string) (*hujson.Object, error) {
	if o, ok := v.Value.(*hujson.Object); ok {
		return o, nil
	}
	return nil, s.typeError(v, what, "an object")
}

func (s *source) array(v *hujson.Value, what string) (*hujson.Array, error) {
	if a, ok := v.Value.(*hujson.Array); ok {
		return a, nil
	}
	return nil, s.typeError(v, what, "an array")
}

// rawString is a string value without variable substitution.
func (s *source) rawString(v *hujson.Value, what string) (string, error) {
	if l, ok := v.Value.(hujson.Literal); ok && l.Kind() == '"' {
		return l.String(), nil
	}
	return "", s.typeError(v, what, "a string")
}

func (s *source) boolean(v *hujson.Value, what string) (bool, error) {
	if l, ok := v.Value.(hujson.Literal); ok && (l.Kind() == 't' || l.Kind() == 'f') {
		return l.Bool(), nil
	}
	return false, s.typeError(v, what, "a boolean")
}

// integer is a whole JSON number.
func (s *source) integer(v *hujson.Value, what string) (int, error) {
	if l, ok := v.Value.(hujson.Literal); ok && l.Kind() == '0' {
		n, err := strconv.Atoi(string(l))
		if err != nil {
			return 0, s.errAt(v, "", "%s: want a whole number, got %s", what, l)
		}
		return n, nil
	}
	return 0, s.typeError(v, what, "a number")
}

// scalar renders a string, boolean or number as a string (Feature options).
func (s *source) scalar(v *hujson.Value, what string) (string, error) {
	if l, ok := v.Value.(hujson.Literal); ok {
		switch l.Kind() {
		case '"':
			return l.String(), nil
		case 't', 'f', '0':
			return string(l), nil
		}
	}
	return "", s.typeError(v, what, "a string, boolean or number")
}
