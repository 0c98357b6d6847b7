package loopfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuiltins_matchRegistered checks the editor table against the
// builtins the plugins register: the same names, and for each the same
// parameters in the same order (read back from the unknown-keyword hint)
// with the same first required one.
func TestBuiltins_matchRegistered(t *testing.T) {
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
			for _, p := range b.Params[1:] {
				if p.Default == "" && b.Params[0].Default != "" {
					t.Errorf("required %s after an optional parameter", p.Name)
				}
			}
		})
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
