// Package catalog reads what the service catalog shows besides the
// Loopfile's catalog() metadata: OpenAPI files (ParseOpenAPI lists their
// operations) and a project's docs/*.md pages (RenderMarkdown, Docs, Doc).
//
// Everything here reads files on request and keeps no state; the daemon
// calls it from its catalog routes. Input is untrusted: files are size
// capped, markdown never passes raw HTML through (it is escaped), and doc
// names cannot leave the docs directory.
package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileSize caps what one OpenAPI or markdown file may weigh.
const MaxFileSize = 8 << 20

var (
	// ErrNotOpenAPI means a file parses but is not an OpenAPI document.
	ErrNotOpenAPI = errors.New("not an OpenAPI document")
	// ErrInvalidDocName is a doc page name that is not a file name in
	// docs/ ending in .md.
	ErrInvalidDocName = errors.New("invalid doc page name")
	// ErrTooLarge is a file over MaxFileSize.
	ErrTooLarge = errors.New("file too large")
)

// ParseError is an OpenAPI file that does not parse, or parses but is not
// OpenAPI: where (Line and Col are 0 when unknown) and what to do.
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
	Hint string
	Err  error // ErrNotOpenAPI, or the parser's error
}

// Error renders "file:line:col: msg (hint: ...)".
func (e *ParseError) Error() string {
	s := e.File
	switch {
	case e.Line > 0 && e.Col > 0:
		s += fmt.Sprintf(":%d:%d", e.Line, e.Col)
	case e.Line > 0:
		s += fmt.Sprintf(":%d", e.Line)
	}
	s += ": " + e.Msg
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

// readFile reads at most MaxFileSize bytes of a file opened by open.
func readFile(f *os.File, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("read %s: %w (over %d MiB)", name, ErrTooLarge, MaxFileSize>>20)
	}
	return b, nil
}
