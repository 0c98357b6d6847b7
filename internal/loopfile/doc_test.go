package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// TestBuiltins_declared checks the table editors see against the
// builtins evaluation knows: the same names, sorted, each declaration
// well-formed (builtin.check), and calls bound by it: an unknown keyword's
// hint lists the parameters in order, and the first one is required when
// it has no default.
func TestBuiltins_declared(t *testing.T) {
	var names []string
	for _, b := range Builtins() {
		names = append(names, b.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Builtins() not sorted: %v", names)
	}
	if got, want := strings.Join(names, ","), strings.Join(builtinNames(), ","); got != want {
		t.Fatalf("Builtins() names:\n got %s\nwant %s", got, want)
	}
	for _, p := range plugins {
		for _, b := range p.builtins {
			if err := b.check(); err != nil {
				t.Error(err)
			}
		}
	}
	for _, b := range Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			e := evalErr(t, b.Name+"(zzz_unknown = 1)")
			if len(b.Params) == 0 {
				if !strings.Contains(e.Msg, "takes no arguments") {
					t.Fatalf("got %q, want a builtin without arguments", e.Msg)
				}
				return
			}
			var params []string
			for _, p := range b.Params {
				params = append(params, p.Name)
			}
			if want := "valid arguments: " + strings.Join(params, ", "); !strings.HasSuffix(e.Hint, want) {
				t.Errorf("got hint %q, want it to end with %q", e.Hint, want)
			}
			if b.Params[0].Default == "" {
				e = evalErr(t, b.Name+"()")
				if want := "missing argument " + b.Params[0].Name; !strings.HasSuffix(e.Msg, want) {
					t.Errorf("got %q, want %q", e.Msg, want)
				}
			}
		})
	}
}

func TestBuiltin_check(t *testing.T) {
	fn := func(*starlark.Thread, *args) (starlark.Value, error) { return starlark.None, nil }
	tests := []struct {
		params []Param
		want   string // "" = valid
	}{
		{nil, ""},
		{[]Param{{"a", "", "doc"}, {"b", "1", "doc"}}, ""},
		{[]Param{{"a", "1", "doc"}, {"b", "", "doc"}}, "f: required parameter b after the optional a"},
		{[]Param{{"a", "", "doc"}, {"a", "1", "doc"}}, "f: parameter a declared twice"},
		{[]Param{{"a", "", ""}}, "f: parameter 0: a name and a doc are required"},
	}
	for _, tt := range tests {
		b := &builtin{Name: "f", Returns: "None", Doc: "doc", Params: tt.params, fn: fn}
		got := ""
		if err := b.check(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("check(%v): got %q, want %q", tt.params, got, tt.want)
		}
	}
}

// TestBuiltins_copies: what Builtins and LookupBuiltin return is the
// caller's to change.
func TestBuiltins_copies(t *testing.T) {
	b, _ := LookupBuiltin("service")
	b.Params[0].Name = "changed"
	Builtins()[0].Params[0].Name = "changed"
	if b, _ := LookupBuiltin("service"); b.Params[0].Name != "name" {
		t.Errorf("LookupBuiltin(service) param 0: got %q, want name", b.Params[0].Name)
	}
	if got := Builtins()[0].Params[0].Name; got == "changed" {
		t.Errorf("Builtins()[0] param 0: got %q, want the declared name", got)
	}
}

func TestBuiltinDoc_Signature(t *testing.T) {
	b, ok := LookupBuiltin("http_probe")
	if !ok {
		t.Fatal("no http_probe")
	}
	if got, want := b.Signature(), `http_probe(url, period="100ms", timeout="1s")`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, ok := LookupBuiltin("nope"); ok {
		t.Error("LookupBuiltin(nope) found something")
	}
}

// evalErr evaluates src as a Loopfile and returns its *Error.
func evalErr(t *testing.T, src string) *Error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Loopfile")
	if err := os.WriteFile(path, []byte(src+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), path, Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %v, want an *Error", src, err)
	}
	return e
}

// TestBuiltins_inDocs: docs/loopfile.md shows every builtin's signature as
// it is declared (a section of its own, or a row of "More builtins"), so
// the reference cannot miss a builtin or a parameter.
func TestBuiltins_inDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "loopfile.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	for _, bi := range Builtins() {
		if !strings.Contains(doc, bi.Signature()) {
			t.Errorf("docs/loopfile.md does not show %s", bi.Signature())
		}
	}
}
