package lsp

// Positions. LSP counts lines from 0 and characters in UTF-16 code units;
// Starlark counts lines and columns from 1, columns in runes; compilers
// (go build) count columns from 1 in bytes. Everything here converts
// through byte offsets into the text.

import (
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// lineBounds returns the byte offsets of the start and end (before the
// newline) of 0-based line n; ok is false past the last line.
func lineBounds(text string, n int) (start, end int, ok bool) {
	for range n {
		i := strings.IndexByte(text[start:], '\n')
		if i < 0 {
			return len(text), len(text), false
		}
		start += i + 1
	}
	end = len(text)
	if i := strings.IndexByte(text[start:], '\n'); i >= 0 {
		end = start + i
	}
	if end > start && text[end-1] == '\r' {
		end--
	}
	return start, end, true
}

// offsetOf converts an LSP position into a byte offset, clamped to the
// text (a character past the end of its line is the end of the line).
func offsetOf(text string, p protocol.Position) int {
	start, end, ok := lineBounds(text, int(p.Line))
	if !ok {
		return len(text)
	}
	units := 0
	for i, r := range text[start:end] {
		if units >= int(p.Character) {
			return start + i
		}
		units += runeUnits(r)
	}
	return end
}

// positionOf converts a byte offset into an LSP position.
func positionOf(text string, off int) protocol.Position {
	off = min(max(off, 0), len(text))
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	units := 0
	for _, r := range text[start:off] {
		units += runeUnits(r)
	}
	return protocol.Position{Line: uint32(line), Character: uint32(units)}
}

// runeUnits is the length of r in UTF-16 code units (an invalid rune is
// one).
func runeUnits(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}

// runeColOffset converts a 1-based line and 1-based rune column (Starlark)
// into a byte offset; 0 line or column means the start of the line.
func runeColOffset(text string, line, col int) int {
	start, end, _ := lineBounds(text, max(line-1, 0))
	off := start
	for i := 1; i < col && off < end; i++ {
		_, size := utf8.DecodeRuneInString(text[off:end])
		off += size
	}
	return off
}

// byteColOffset converts a 1-based line and 1-based byte column (go build
// and most compilers) into a byte offset within that line.
func byteColOffset(text string, line, col int) int {
	start, end, _ := lineBounds(text, max(line-1, 0))
	off := start + max(col-1, 0)
	if off > end {
		return end
	}
	for off > start && !utf8.RuneStart(text[off]) {
		off--
	}
	return off
}

// tokenRange returns the range of the token that starts at off: an
// identifier or number, a string literal, or else one character (nothing
// at the end of a line).
func tokenRange(text string, off int) protocol.Range {
	return protocol.Range{Start: positionOf(text, off), End: positionOf(text, tokenEnd(text, off))}
}

func tokenEnd(text string, off int) int {
	if off >= len(text) {
		return off
	}
	r, size := utf8.DecodeRuneInString(text[off:])
	switch {
	case isIdentRune(r):
		end := off
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if !isIdentRune(r) {
				break
			}
			end += size
		}
		return end
	case r == '"' || r == '\'':
		for i := off + 1; i < len(text); i++ {
			switch text[i] {
			case '\\':
				i++
			case '\n':
				return i
			case byte(r):
				return i + 1
			}
		}
		return len(text)
	case r == '\n' || r == '\r':
		return off
	}
	return off + size
}

func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordAt returns the identifier around off, and its bounds.
func wordAt(text string, off int) (string, int, int) {
	off = min(max(off, 0), len(text))
	start, end := off, off
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if !isIdentRune(r) {
			break
		}
		start -= size
	}
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		if !isIdentRune(r) {
			break
		}
		end += size
	}
	if start < end && unicode.IsDigit(rune(text[start])) {
		return "", off, off
	}
	return text[start:end], start, end
}

// uriToPath returns the local path of a file:// URI, or "".
func uriToPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}

// pathToURI returns the file:// URI of an absolute path.
func pathToURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
