package lsp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A memory bomb typed in the editor is a diagnostic at its line that names
// the limit (set here through LOOP_EVAL_MEMORY, which loop lsp reads), and
// loop lsp serves on.
func TestLSP_memoryBombIsADiagnostic(t *testing.T) {
	home, err := os.MkdirTemp("", "lh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	dir := t.TempDir()
	c := startLSP(t, dir, "LOOP_HOME="+home, "LOOP_EVAL_MEMORY=256MiB")
	lf := filepath.Join(dir, "Loopfile")
	good := "service(\"api\", \"run\")\n"
	writeFile(t, lf, good)
	from := c.mark()
	c.open(lf, good+"X = \"x\" * (1 << 28)\nY = X + X\n")
	ds, from := c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool { return len(ds) > 0 })
	if d := ds[0]; d.Range.Start.Line != 1 || !strings.Contains(d.Message, "over the limit of 256 MiB (LOOP_EVAL_MEMORY)") {
		t.Errorf("got %+v, want the memory limit on line 2", d)
	}
	c.change(lf, 2, good)
	c.waitDiagnostics(from, uri(lf), func(ds []diagnostic) bool { return len(ds) == 0 })
}
