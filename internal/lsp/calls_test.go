package lsp

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// cursor splits "text with | at the cursor" into the text and the offset.
func cursor(s string) (string, int) {
	i := strings.IndexByte(s, '|')
	return s[:i] + s[i+1:], i
}

func TestCallAt(t *testing.T) {
	for _, tc := range []struct {
		src        string
		fn         string // "" = no call
		positional int
		keywords   []string
		keyword    string
		nested     bool
	}{
		{src: `|`},
		{src: `service(|`, fn: "service"},
		{src: `service("a", c|`, fn: "service", positional: 1},
		{src: `service("a", "b", dir = ".", |)`, fn: "service", positional: 2, keywords: []string{"dir"}},
		{src: `service("a", deps = [|`, fn: "service", positional: 1, keyword: "deps", nested: true},
		{src: `service("a", readiness = http_probe(|`, fn: "http_probe"},
		{src: `service("a", readiness = http_probe("u"), |`, fn: "service", positional: 1, keywords: []string{"readiness"}},
		{src: `service("a(", "b,c", |`, fn: "service", positional: 2},
		{src: "service(\"a\", # (,\n  |", fn: "service", positional: 1},
		{src: `service("""x(""", |`, fn: "service", positional: 1},
		{src: `service("a|`, fn: "service", nested: true},
		{src: `x.service(|`},
		{src: `if (|`},
		{src: `service("a", env = {"K": "v", |`, fn: "service", positional: 1, keyword: "env", nested: true},
		{src: `service("a", x == |`, fn: "service", positional: 1},
		{src: "service(\"a\")\n|"},
	} {
		text, off := cursor(tc.src)
		c, ok := callAt(text, off)
		if ok != (tc.fn != "") || c.fn != tc.fn || c.positional != tc.positional ||
			!slices.Equal(c.keywords, tc.keywords) || c.keyword != tc.keyword || c.nested != tc.nested {
			t.Errorf("callAt(%q) = %+v, %v; want fn %q positional %d keywords %v keyword %q nested %v",
				tc.src, c, ok, tc.fn, tc.positional, tc.keywords, tc.keyword, tc.nested)
		}
	}
}

func TestInLiteral(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`x = "ab|c"`, true},
		{`x = "abc"|`, false},
		{`x = 'a\'|'`, true},
		{"x = 1 # comm|ent", true},
		{"x = 1 # comment\n|", false},
		{"x = \"\"\"a\nb|\"\"\"", true},
		{"x = \"unterminated\ny = |", false},
	} {
		text, off := cursor(tc.src)
		if got := inLiteral(text, off); got != tc.want {
			t.Errorf("inLiteral(%q) = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestPositions_utf16(t *testing.T) {
	text := "a = \"héllo 😀\" + b\r\nsecond\n"
	off := strings.Index(text, "+")
	p := positionOf(text, off)
	// h, é, l, l, o, space: 1 unit each; 😀: 2 units.
	if want := (protocol.Position{Line: 0, Character: 15}); p != want {
		t.Errorf("positionOf = %+v, want %+v", p, want)
	}
	if got := offsetOf(text, p); got != off {
		t.Errorf("offsetOf(%+v) = %d, want %d", p, got, off)
	}
	if got := offsetOf(text, protocol.Position{Line: 0, Character: 999}); text[got:got+2] != "\r\n" {
		t.Errorf("offsetOf past the end of line 0 = %d, want the end of the line", got)
	}
	if got := offsetOf(text, protocol.Position{Line: 99}); got != len(text) {
		t.Errorf("offsetOf past the last line = %d, want %d", got, len(text))
	}
	// Starlark columns count runes; go build's count bytes.
	if got := runeColOffset(text, 1, 15); text[got] != '+' {
		t.Errorf("runeColOffset(1, 15) at %q, want +", text[got:])
	}
	if got := byteColOffset(text, 1, off+1); got != off {
		t.Errorf("byteColOffset = %d, want %d", got, off)
	}
	if got := byteColOffset(text, 2, 99); text[got] != '\n' {
		t.Errorf("byteColOffset past the end of line 2 = %d, want its end", got)
	}
}

func TestTokenEnd(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`|comand = "x"`, "comand"},
		{`x = |"a \" b" + c`, `"a \" b"`},
		{`f(|42)`, "42"},
		{`f|(1)`, "("},
		{"x|\n", ""},
		{"|", ""},
	} {
		text, off := cursor(tc.src)
		if got := text[off:tokenEnd(text, off)]; got != tc.want {
			t.Errorf("token at %q = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestCompletions_noDuplicateKeywords(t *testing.T) {
	text, off := cursor(`task("t", "true", dir = ".", |`)
	var labels []string
	for _, it := range completions(text, off) {
		labels = append(labels, it.Label)
	}
	if !slices.Contains(labels, "deps=") || slices.Contains(labels, "dir=") || slices.Contains(labels, "name=") {
		t.Errorf("got %v", labels)
	}
}

func TestStream_skipsBadMessages(t *testing.T) {
	in := "Content-Length: 5\r\n\r\n{bad}" +
		"garbage line\r\n\r\n" +
		"Content-Length: nope\r\n\r\n" +
		"Content-Length: 2\r\n\r\n[]" +
		"Content-Length: 37\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}"
	var out bytes.Buffer
	s := newStream(strings.NewReader(in), &out, nil, slog.New(slog.DiscardHandler))
	var v map[string]any
	if err := s.ReadObject(&v); err != nil {
		t.Fatalf("ReadObject: %v", err)
	}
	if v["method"] != "x" {
		t.Errorf("got %v, want the request after the bad ones", v)
	}
	if n := strings.Count(out.String(), `"code":-32700`); n != 2 {
		t.Errorf("got %d parse error replies, want 2 ({bad} and []):\n%s", n, out.String())
	}
	if err := s.ReadObject(&v); err != io.EOF {
		t.Errorf("at the end: got %v, want EOF", err)
	}
}
