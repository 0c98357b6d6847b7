package lsp_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newWorkspace is a project directory and a `loop lsp` for it, with a
// LOOP_HOME of its own where no loopd runs.
func newWorkspace(t *testing.T) (string, *client) {
	t.Helper()
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	dir := t.TempDir()
	return dir, startLSP(t, dir, "LOOP_HOME="+home)
}

func TestLSP_evaluationDiagnostics(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	broken := "task(\"build\", \"true\")\nservice(\"api\", \"sleep 100\", comand = \"x\")\n"
	writeFile(t, lf, broken)

	from := c.mark()
	c.open(lf, broken)
	ds, from := c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool { return len(ds) > 0 })
	d := ds[0]
	if want := (lspRange{position{1, 28}, position{1, 34}}); d.Range != want {
		t.Errorf("range: got %+v, want %+v (the keyword comand)", d.Range, want)
	}
	if !strings.Contains(d.Message, `unknown keyword argument "comand"`) || !strings.Contains(d.Message, "did you mean cmd?") {
		t.Errorf("message: got %q, want the unknown keyword and a did-you-mean hint", d.Message)
	}
	if d.Severity != 1 || d.Source != "loop" {
		t.Errorf("got severity %d source %q, want 1 (error) and loop", d.Severity, d.Source)
	}

	// An unsaved edit that breaks another line: evaluated from a shadow
	// copy, reported against the document.
	c.change(lf, 2, "task(\"build\", \"true\")\n\nservce(\"api\", \"sleep 100\")\n")
	ds, from = c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool {
		return len(ds) == 1 && strings.Contains(ds[0].Message, "undefined: servce")
	})
	if want := (lspRange{position{2, 0}, position{2, 6}}); ds[0].Range != want {
		t.Errorf("range: got %+v, want %+v", ds[0].Range, want)
	}
	if !strings.Contains(ds[0].Message, "did you mean service?") {
		t.Errorf("message %q: want the hint", ds[0].Message)
	}

	// Fixed: an empty list clears.
	c.change(lf, 3, "task(\"build\", \"true\")\nservice(\"api\", cmd = \"sleep 100\")\n")
	c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool { return len(ds) == 0 })

	// No shadow copy is left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "Loopfile" {
			t.Errorf("left in the project directory: %s", e.Name())
		}
	}
}

func TestLSP_diagnosticsOnSaveAndInLoadedFile(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	lib := filepath.Join(dir, "lib", "defs.star")
	writeFile(t, lib, "def svc(name):\n    return service(name, 42)\n")
	text := "load(\"lib/defs.star\", \"svc\")\nsvc(\"api\")\n"
	writeFile(t, lf, text)

	from := c.mark()
	c.open(lf, text)
	ds, from := c.waitDiagnostics(from, uri(lib), func(ds []diagnostic) bool { return len(ds) > 0 })
	if got := ds[0].Range.Start; got != (position{1, 25}) {
		t.Errorf("error in the loaded file at %+v, want 1:25 (the 42)", got)
	}
	// Fix the library in the editor and save it: the Loopfile that loads
	// it is evaluated again, and the error clears.
	fixed := "def svc(name):\n    return service(name, \"sleep 100\")\n"
	c.open(lib, fixed)
	writeFile(t, lib, fixed)
	c.notify("textDocument/didSave", map[string]any{"textDocument": textDoc(lib)})
	c.waitDiagnostics(from, uri(lib), func(ds []diagnostic) bool { return len(ds) == 0 })

	// Saving the Loopfile evaluates it from disk.
	writeFile(t, lf, "svc(\"api\")\n")
	c.notify("textDocument/didSave", map[string]any{"textDocument": textDoc(lf)})
	c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool {
		return len(ds) == 1 && strings.Contains(ds[0].Message, "undefined: svc")
	})
}

func labels(t *testing.T, c *client, path string, line, char int) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Label  string `json:"label"`
			Detail string `json:"detail"`
		} `json:"items"`
	}
	c.call("textDocument/completion", at(path, line, char), &list)
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Label)
	}
	return out
}

func TestLSP_completion(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	text := "x = 1\n\nservice(\"api\", c\ntask(\"t\", \"true\", dir = \".\", )\nhttp_probe(\"http://x\", period = \"1s\", \n"
	c.open(lf, text)

	got := labels(t, c, lf, 1, 0)
	for _, want := range []string{"service", "task", "container", "image", "http_probe", "load"} {
		if !slices.Contains(got, want) {
			t.Errorf("start of line: %q missing from %v", want, got)
		}
	}
	if slices.Contains(got, "cmd=") {
		t.Errorf("start of line: keyword arguments offered outside a call: %v", got)
	}

	got = labels(t, c, lf, 2, 16) // service("api", c|
	if !slices.Contains(got, "cmd=") || !slices.Contains(got, "readiness=") {
		t.Errorf("in service(: want cmd= and readiness=, got %v", got)
	}
	if slices.Contains(got, "name=") {
		t.Errorf("in service(: name= is given by position, got %v", got)
	}

	got = labels(t, c, lf, 3, 29) // task("t", "true", dir = ".", |)
	if slices.Contains(got, "dir=") || slices.Contains(got, "cmd=") || !slices.Contains(got, "deps=") {
		t.Errorf("in task(: want deps= and neither dir= nor cmd=, got %v", got)
	}
	if slices.Contains(got, "stop_signal=") {
		t.Errorf("in task(: stop_signal= is service's, got %v", got)
	}

	got = labels(t, c, lf, 4, 38) // http_probe("http://x", period = "1s", |
	if !slices.Contains(got, "timeout=") || slices.Contains(got, "period=") {
		t.Errorf("in http_probe(: want timeout= only, got %v", got)
	}

	// Inside a string: nothing.
	if got := labels(t, c, lf, 2, 11); len(got) != 0 {
		t.Errorf("inside a string: got %v, want nothing", got)
	}
}

func TestLSP_hoverAndSignatureHelp(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	text := "service(\"api\", \"run\", deps = [\"a\", ], readiness = tcp_probe(\"x:1\"))\n"
	c.open(lf, text)

	var h struct {
		Contents struct {
			Kind  string `json:"kind"`
			Value string `json:"value"`
		} `json:"contents"`
		Range lspRange `json:"range"`
	}
	c.call("textDocument/hover", at(lf, 0, 3), &h)
	if !strings.Contains(h.Contents.Value, "service(name, cmd, dir=\".\"") || !strings.Contains(h.Contents.Value, "long-running") {
		t.Errorf("hover on service: got %q", h.Contents.Value)
	}
	if h.Range != (lspRange{position{0, 0}, position{0, 7}}) {
		t.Errorf("hover range: got %+v", h.Range)
	}
	c.call("textDocument/hover", at(lf, 0, 24), &h) // deps
	if !strings.Contains(h.Contents.Value, "**deps**") {
		t.Errorf("hover on deps=: got %q", h.Contents.Value)
	}
	res, rerr := c.request("textDocument/hover", at(lf, 0, 17)) // inside "run"
	if rerr != nil || string(res) != "null" {
		t.Errorf("hover in a string: got %s %v, want null", res, rerr)
	}

	type sigHelp struct {
		Signatures []struct {
			Label      string `json:"label"`
			Parameters []struct {
				Label string `json:"label"`
			} `json:"parameters"`
		} `json:"signatures"`
		ActiveParameter int `json:"activeParameter"`
	}
	for _, tc := range []struct {
		char      int
		signature string
		param     string
	}{
		{9, "service(", "name"},            // service("|api"
		{16, "service(", "cmd"},            // "|run"
		{34, "service(", "deps=[dir]"},     // deps = ["a", |]
		{63, "tcp_probe(", "addr"},         // tcp_probe("|x:1"
		{51, "service(", "readiness=None"}, // readiness = |
	} {
		var sh sigHelp
		c.call("textDocument/signatureHelp", at(lf, 0, tc.char), &sh)
		if len(sh.Signatures) != 1 || !strings.HasPrefix(sh.Signatures[0].Label, tc.signature) {
			t.Errorf("at %d: got %+v, want %s...", tc.char, sh, tc.signature)
			continue
		}
		ps := sh.Signatures[0].Parameters
		if sh.ActiveParameter >= len(ps) || ps[sh.ActiveParameter].Label != tc.param {
			t.Errorf("at %d: active parameter %d of %+v, want %s", tc.char, sh.ActiveParameter, ps, tc.param)
		}
	}
}

func TestLSP_definitionThroughLoad(t *testing.T) {
	dir, c := newWorkspace(t)
	lib := filepath.Join(dir, "lib", "go.star")
	writeFile(t, lib, "load(\"base.star\", \"BASE\")\n\nGO_ENV = {\"CGO_ENABLED\": \"0\"}\n\ndef go_service(name):\n    return service(name, \"go run .\", env = GO_ENV)\n")
	writeFile(t, filepath.Join(dir, "lib", "base.star"), "# base\nBASE = \"x\"\n")
	lf := filepath.Join(dir, "Loopfile")
	text := "load(\"lib/go.star\", \"GO_ENV\", \"BASE\", svc = \"go_service\")\n\nsvc(\"api\")\nenv = GO_ENV\n"
	c.open(lf, text)

	type location struct {
		URI   string   `json:"uri"`
		Range lspRange `json:"range"`
	}
	for _, tc := range []struct {
		what       string
		line, char int
		file       string
		at         position
	}{
		{"the load path", 0, 9, lib, position{0, 0}},
		{"a loaded name", 0, 23, lib, position{2, 0}},
		{"an aliased name", 0, 39, lib, position{4, 4}},
		{"the original name of an alias", 0, 50, lib, position{4, 4}},
		{"a use of an alias", 2, 1, lib, position{4, 4}},
		{"a use of a loaded name", 3, 8, lib, position{2, 0}},
		{"a re-exported name", 0, 32, filepath.Join(dir, "lib", "base.star"), position{1, 0}},
	} {
		var locs []location
		c.call("textDocument/definition", at(lf, tc.line, tc.char), &locs)
		if len(locs) != 1 || locs[0].URI != uri(tc.file) || locs[0].Range.Start != tc.at {
			t.Errorf("definition of %s: got %+v, want %s at %+v", tc.what, locs, uri(tc.file), tc.at)
		}
	}
	res, _ := c.request("textDocument/definition", at(lf, 2, 6)) // inside "api"
	if string(res) != "null" {
		t.Errorf("definition in a string: got %s, want null", res)
	}
}

func TestLSP_malformedInputKeepsServing(t *testing.T) {
	dir, c := newWorkspace(t)
	lf := filepath.Join(dir, "Loopfile")
	c.open(lf, "service(\"api\", \"run\")\n")

	from := c.mark()
	c.sendRaw([]byte(`{"jsonrpc":"2.0","id":99,"method":`)) // not JSON
	m, _, ok := c.waitMessage(from, func(m message) bool { return m.Error != nil && string(m.ID) == "null" })
	if !ok || m.Error.Code != -32700 {
		t.Errorf("bad JSON: got %+v, want a parse error with id null", m)
	}
	c.sendRaw([]byte(`{"hello": "world"}`)) // JSON, but no JSON-RPC message
	c.sendRaw([]byte(`[1, 2`))
	if _, err := c.request("textDocument/hover", "not params"); err == nil || err.Code != -32602 {
		t.Errorf("bad params: got %v, want invalid params", err)
	}
	if _, err := c.request("no/such/method", map[string]any{}); err == nil || err.Code != -32601 {
		t.Errorf("unknown method: got %v, want method not found", err)
	}
	// Positions out of range, unknown documents, a bad change: answered.
	c.call("textDocument/completion", at(lf, 500, 500), nil)
	c.call("textDocument/hover", at(filepath.Join(dir, "nope"), 0, 0), nil)
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": "file:///nope"}, "contentChanges": []any{}})
	c.notify("textDocument/didOpen", map[string]any{"textDocument": 5})

	// Still serving.
	var h struct {
		Contents struct{ Value string } `json:"contents"`
	}
	c.call("textDocument/hover", at(lf, 0, 2), &h)
	if !strings.Contains(h.Contents.Value, "service(") {
		t.Errorf("after bad input, hover: got %q", h.Contents.Value)
	}
	if _, err := c.request("workspace/executeCommand", map[string]any{"command": "loop.trigger", "arguments": []any{"api"}}); err == nil || !strings.Contains(err.Message, "loop up") {
		t.Errorf("loop.trigger without loopd: got %v, want an error that says to run loop up", err)
	}
	if res, err := c.request("workspace/executeCommand", map[string]any{"command": "loop.trigger", "arguments": []any{5}}); err == nil {
		t.Errorf("loop.trigger with a number: got %s, want an error", res)
	}
}
