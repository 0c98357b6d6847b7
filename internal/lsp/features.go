package lsp

// Completion, hover, signature help and definition for Loopfiles, from the
// builtin table loopfile.Builtins.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
	"go.starlark.net/syntax"

	"github.com/loopdev/loop/internal/loopfile"
)

// loadDoc documents the load statement, which is no builtin.
const loadDoc = "```starlark\nload(\"path.star\", \"name\", alias = \"name\")\n```\n\n" +
	"Loads names from another Starlark file; the path is relative to the file that contains the load. " +
	"Its globals are frozen."

// textAt returns the open document at uri and the byte offset of pos, when
// it is a Loopfile.
func (s *Server) textAt(uri string, pos protocol.Position) (document, int, bool) {
	d, ok := s.doc(uri)
	if !ok || !isLoopfile(d.path) && d.path != "" {
		return document{}, 0, false
	}
	return d, offsetOf(d.text, pos), true
}

func (s *Server) completion(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
	d, off, ok := s.textAt(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, nil
	}
	return protocol.CompletionList{Items: completions(d.text, off)}, nil
}

// completions lists what may be typed at off: the unused keyword arguments
// first when the cursor starts an argument of a builtin call, then the
// builtins and the names the file defines or loads.
func completions(text string, off int) []protocol.CompletionItem {
	items := []protocol.CompletionItem{}
	if inLiteral(text, off) {
		return items
	}
	if c, ok := callAt(text, off); ok && !c.nested && c.keyword == "" && identPrefix.MatchString(c.current) {
		if b, ok := loopfile.LookupBuiltin(c.fn); ok {
			for i, prm := range b.Params {
				if i < c.positional || slices.Contains(c.keywords, prm.Name) {
					continue
				}
				items = append(items, protocol.CompletionItem{
					Label:         prm.Name + "=",
					Kind:          ptr(protocol.CompletionItemKindProperty),
					Detail:        ptr(b.ParamLabels()[i]),
					Documentation: markdown(paramDoc(prm)),
					SortText:      ptr(fmt.Sprintf("0%03d", i)),
					InsertText:    ptr(prm.Name + "="),
				})
			}
		}
	}
	for _, b := range loopfile.Builtins() {
		items = append(items, protocol.CompletionItem{
			Label:         b.Name,
			Kind:          ptr(protocol.CompletionItemKindFunction),
			Detail:        ptr(b.Signature()),
			Documentation: markdown(builtinDoc(b)),
			SortText:      ptr("1" + b.Name),
		})
	}
	items = append(items, protocol.CompletionItem{
		Label: "load", Kind: ptr(protocol.CompletionItemKindKeyword),
		Detail: ptr(`load("path.star", "name", ...)`), Documentation: markdown(loadDoc),
		SortText: ptr("1load"),
	})
	for _, name := range fileNames(text) {
		items = append(items, protocol.CompletionItem{
			Label: name, Kind: ptr(protocol.CompletionItemKindVariable), SortText: ptr("2" + name),
		})
	}
	return items
}

// fileNames lists the names a file defines or loads at the top level,
// when it parses.
func fileNames(text string) []string {
	f, err := fileOptions.Parse("", text, 0)
	if err != nil {
		return nil
	}
	var names []string
	add := func(id *syntax.Ident) {
		if !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	var bind func(e syntax.Expr)
	bind = func(e syntax.Expr) {
		switch e := e.(type) {
		case *syntax.Ident:
			add(e)
		case *syntax.TupleExpr:
			for _, x := range e.List {
				bind(x)
			}
		case *syntax.ListExpr:
			for _, x := range e.List {
				bind(x)
			}
		}
	}
	for _, st := range f.Stmts {
		switch st := st.(type) {
		case *syntax.DefStmt:
			add(st.Name)
		case *syntax.AssignStmt:
			bind(st.LHS)
		case *syntax.LoadStmt:
			for _, id := range st.To {
				add(id)
			}
		}
	}
	return names
}

func (s *Server) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	d, off, ok := s.textAt(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, nil
	}
	return hoverAt(d.text, off), nil
}

// hoverAt documents the builtin, or the keyword argument of a builtin
// call, at off.
func hoverAt(text string, off int) *protocol.Hover {
	if inLiteral(text, off) {
		return nil
	}
	word, start, end := wordAt(text, off)
	if word == "" {
		return nil
	}
	rng := &protocol.Range{Start: positionOf(text, start), End: positionOf(text, end)}
	if keywordArg.MatchString(text[start:]) {
		if c, ok := callAt(text, start); ok && !c.nested {
			if b, ok := loopfile.LookupBuiltin(c.fn); ok {
				if prm, ok := b.Param(word); ok {
					return &protocol.Hover{Contents: markdown(paramDoc(prm) + "\n\n(argument of `" + b.Name + "`)"), Range: rng}
				}
			}
		}
		return nil
	}
	if word == "load" {
		return &protocol.Hover{Contents: markdown(loadDoc), Range: rng}
	}
	if b, ok := loopfile.LookupBuiltin(word); ok {
		return &protocol.Hover{Contents: markdown(builtinDoc(b)), Range: rng}
	}
	return nil
}

func (s *Server) signatureHelp(_ *glsp.Context, p *protocol.SignatureHelpParams) (*protocol.SignatureHelp, error) {
	d, off, ok := s.textAt(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, nil
	}
	return signatureAt(d.text, off), nil
}

// signatureAt is the signature of the builtin call around off, with the
// parameter being typed as the active one.
func signatureAt(text string, off int) *protocol.SignatureHelp {
	c, ok := callAt(text, off)
	if !ok {
		return nil
	}
	b, ok := loopfile.LookupBuiltin(c.fn)
	if !ok {
		return nil
	}
	labels := b.ParamLabels()
	params := make([]protocol.ParameterInformation, len(b.Params))
	for i, prm := range b.Params {
		params[i] = protocol.ParameterInformation{Label: labels[i], Documentation: markdown(prm.Doc)}
	}
	active := uint32(len(b.Params)) // none
	if c.keyword != "" {
		for i, prm := range b.Params {
			if prm.Name == c.keyword {
				active = uint32(i)
			}
		}
	} else if c.positional < len(b.Params) && len(c.keywords) == 0 {
		active = uint32(c.positional)
	}
	return &protocol.SignatureHelp{
		Signatures: []protocol.SignatureInformation{{
			Label:           b.Signature(),
			Documentation:   markdown(b.Doc),
			Parameters:      params,
			ActiveParameter: &active,
		}},
		ActiveSignature: ptr(uint32(0)),
		ActiveParameter: &active,
	}
}

func (s *Server) definition(_ *glsp.Context, p *protocol.DefinitionParams) (any, error) {
	d, off, ok := s.textAt(p.TextDocument.URI, p.Position)
	if !ok || d.path == "" {
		return nil, nil
	}
	locs := definition(d.path, d.text, off, s.source)
	for i := range locs {
		if path := uriToPath(locs[i].URI); path != "" {
			locs[i].URI = s.uriFor(path)
		}
	}
	if len(locs) == 0 {
		return nil, nil
	}
	return locs, nil
}

func builtinDoc(b loopfile.BuiltinDoc) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "```starlark\n%s\n```\n\n%s", b.Signature(), b.Doc)
	if len(b.Params) > 0 {
		sb.WriteString("\n")
		for _, p := range b.Params {
			fmt.Fprintf(&sb, "\n* `%s`: %s", p.Name, p.Doc)
		}
	}
	return sb.String()
}

func paramDoc(p loopfile.Param) string {
	def := "required"
	if p.Default != "" {
		def = "default `" + p.Default + "`"
	}
	return fmt.Sprintf("**%s** (%s): %s", p.Name, def, p.Doc)
}

func markdown(s string) protocol.MarkupContent {
	return protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: s}
}
