package catalog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

func TestRenderMarkdown(t *testing.T) {
	src := "Intro line.\n\n# The `api` *runbook*\n\n## Later\n\n| Alert | Action |\n|-------|--------|\n| high latency | scale up |\n\n- [x] done\n"
	title, html, err := RenderMarkdown([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := "The api runbook"; title != want {
		t.Errorf("got title %q, want %q", title, want)
	}
	for _, want := range []string{"<table>", "<th>Alert</th>", "<td>high latency</td>", `<h1 id=`, "<code>api</code>", `type="checkbox"`} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks %q:\n%s", want, html)
		}
	}
}

func TestRenderMarkdown_noTitle(t *testing.T) {
	title, _, err := RenderMarkdown([]byte("just text\n"))
	if err != nil || title != "" {
		t.Errorf("got %q, %v; want no title", title, err)
	}
}

// Untrusted markdown must not inject markup or script into the portal.
func TestRenderMarkdown_escapesRawHTML(t *testing.T) {
	src := "# Title\n\n<script>alert(1)</script>\n\ninline <img src=x onerror=alert(2)> html\n\n" +
		"<div onclick=\"x()\">\nblock\n</div>\n\n[click](javascript:alert(3))\n"
	_, html, err := RenderMarkdown([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<div", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("html contains %q:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "&lt;div onclick=&#34;x()&#34;&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks the escaped %q:\n%s", want, html)
		}
	}
}

func TestDocs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "docs/runbook.md", "# Runbook\n\nRestart it.\n")
	write(t, dir, "docs/arch.md", "Some text\n\n## Architecture\n")
	write(t, dir, "docs/untitled.md", "no heading\n")
	write(t, dir, "docs/notes.txt", "# not markdown\n")
	write(t, dir, "docs/sub/deep.md", "# Deep\n")
	write(t, dir, "secret.md", "# Secret\n")
	if err := os.Symlink(filepath.Join(dir, "secret.md"), filepath.Join(dir, "docs/escape.md")); err != nil {
		t.Fatal(err)
	}

	got, err := Docs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.DocPage{{Name: "arch.md", Title: "Architecture"}, {Name: "runbook.md", Title: "Runbook"}, {Name: "untitled.md", Title: "untitled"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Docs:\n got %+v\nwant %+v", got, want)
	}

	p, err := Doc(dir, "runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "runbook.md" || p.Title != "Runbook" || !strings.Contains(p.HTML, "<p>Restart it.</p>") {
		t.Errorf("Doc = %+v", p)
	}

	for _, name := range []string{"../secret.md", "sub/deep.md", "..", "", ".hidden.md", `..\secret.md`, "notes.txt", "escape.md"} {
		if _, err := Doc(dir, name); !errors.Is(err, ErrInvalidDocName) {
			t.Errorf("Doc(%q) = %v, want ErrInvalidDocName", name, err)
		}
	}
	if _, err := Doc(dir, "nope.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Doc(nope.md) = %v, want fs.ErrNotExist", err)
	}
}

func TestDocs_none(t *testing.T) {
	got, err := Docs(t.TempDir())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %#v, %v; want an empty list", got, err)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
