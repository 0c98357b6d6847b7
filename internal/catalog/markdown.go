package catalog

import (
	"bytes"
	"fmt"
	"html"
	"path/filepath"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown renders GitHub-flavoured markdown (tables, strikethrough, task
// lists, autolinks). It is safe for concurrent use.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()), // anchors for links between sections
	goldmark.WithRendererOptions(
		// Before goldmark's own HTML renderer (priority 1000), which would
		// only drop raw HTML: show it escaped instead.
		renderer.WithNodeRenderers(util.Prioritized(escapeRawHTML{}, 100)),
	),
)

// RenderMarkdown renders src to HTML and returns the text of its first
// heading as the title ("" when it has none). Raw HTML in src is escaped,
// never passed through, and goldmark drops dangerous link URLs
// (javascript: and the like), so the result is safe to embed in a page.
func RenderMarkdown(src []byte) (title, out string, err error) {
	doc := markdown.Parser().Parse(text.NewReader(src))
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			title = strings.TrimSpace(plainText(h, src))
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	var b bytes.Buffer
	if err := markdown.Renderer().Render(&b, src, doc); err != nil {
		return "", "", fmt.Errorf("render markdown: %w", err)
	}
	return title, b.String(), nil
}

// plainText concatenates the text under n.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// escapeRawHTML renders inline and block raw HTML as escaped text.
type escapeRawHTML struct{}

var _ renderer.NodeRenderer = escapeRawHTML{}

func (escapeRawHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
}

func renderRawHTML(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		segs := node.(*ast.RawHTML).Segments
		for i := range segs.Len() {
			seg := segs.At(i)
			w.WriteString(html.EscapeString(string(seg.Value(src))))
		}
	}
	return ast.WalkSkipChildren, nil
}

func renderHTMLBlock(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.HTMLBlock)
	if entering {
		w.WriteString(`<pre class="raw-html"><code>`)
		lines := n.Lines()
		for i := range lines.Len() {
			seg := lines.At(i)
			w.WriteString(html.EscapeString(string(seg.Value(src))))
		}
		return ast.WalkContinue, nil
	}
	if n.HasClosure() {
		w.WriteString(html.EscapeString(string(n.ClosureLine.Value(src))))
	}
	w.WriteString("</code></pre>\n")
	return ast.WalkContinue, nil
}

// titleOr returns title, or a title made from a doc page's file name.
func titleOr(title, name string) string {
	if title != "" {
		return title
	}
	return strings.TrimSuffix(name, filepath.Ext(name))
}
