package lsp

// Document sync: the open Loopfiles and .star files, kept in memory as
// the editor changes them (didOpen/didChange/didSave/didClose), so checks
// and completion see unsaved text.

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// document is an open text document.
type document struct {
	uri     string
	path    string // local path; "" for non-file URIs
	version int32
	text    string
}

// isLoopfile reports whether path is a file the server evaluates and
// completes: Loopfile or *.star.
func isLoopfile(path string) bool {
	base := filepath.Base(path)
	return base == "Loopfile" || strings.HasSuffix(base, ".star")
}

// doc returns a copy of the open document at uri.
func (s *Server) doc(uri string) (document, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[uri]
	if !ok {
		return document{}, false
	}
	return *d, true
}

// source returns a file's text: the open document's, else the disk's.
func (s *Server) source(path string) (string, bool) {
	s.mu.Lock()
	for _, d := range s.docs {
		if d.path == path {
			text := d.text
			s.mu.Unlock()
			return text, true
		}
	}
	s.mu.Unlock()
	return diskSource(path)
}

// uriFor returns the URI the client uses for path when it has the file
// open, else a file:// URI.
func (s *Server) uriFor(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs {
		if d.path == path {
			return d.uri
		}
	}
	return pathToURI(path)
}

func (s *Server) didOpen(_ *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	d := &document{uri: p.TextDocument.URI, path: uriToPath(p.TextDocument.URI),
		version: p.TextDocument.Version, text: p.TextDocument.Text}
	s.mu.Lock()
	s.docs[d.uri] = d
	s.mu.Unlock()
	if isLoopfile(d.path) {
		s.scheduleEval(*d, false, 0)
	}
	return nil
}

func (s *Server) didChange(_ *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	s.mu.Lock()
	d, ok := s.docs[p.TextDocument.URI]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("didChange: %s is not open", p.TextDocument.URI)
	}
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case protocol.TextDocumentContentChangeEventWhole:
			d.text = c.Text
		case protocol.TextDocumentContentChangeEvent: // we ask for full sync, but apply ranges too
			if c.Range != nil {
				start, end := offsetOf(d.text, c.Range.Start), offsetOf(d.text, c.Range.End)
				if end < start {
					start, end = end, start
				}
				d.text = d.text[:start] + c.Text + d.text[end:]
			} else {
				d.text = c.Text
			}
		}
	}
	d.version = p.TextDocument.Version
	cp := *d
	s.mu.Unlock()
	if isLoopfile(cp.path) {
		s.scheduleEval(cp, false, s.opts.Debounce)
	}
	return nil
}

func (s *Server) didSave(_ *glsp.Context, p *protocol.DidSaveTextDocumentParams) error {
	d, ok := s.doc(p.TextDocument.URI)
	if !ok || !isLoopfile(d.path) {
		return nil
	}
	if p.Text != nil {
		s.mu.Lock()
		s.docs[d.uri].text = *p.Text
		s.mu.Unlock()
		d.text = *p.Text
	}
	s.scheduleEval(d, true, 0)
	// Other open Loopfiles may load this one: evaluate them again too, so
	// an error they reported in it clears.
	s.mu.Lock()
	var others []document
	for _, o := range s.docs {
		if o.uri != d.uri && isLoopfile(o.path) {
			others = append(others, *o)
		}
	}
	s.mu.Unlock()
	for _, o := range others {
		s.scheduleEval(o, false, s.opts.Debounce)
	}
	return nil
}

func (s *Server) didClose(_ *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	uri := p.TextDocument.URI
	s.mu.Lock()
	delete(s.docs, uri)
	if j := s.evals[uri]; j != nil {
		j.stop()
		delete(s.evals, uri)
	}
	s.mu.Unlock()
	s.diags.set(evalLayer(uri), nil)
	return nil
}
