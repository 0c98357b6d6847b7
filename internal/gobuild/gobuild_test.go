package gobuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKey_devel: a development build (this test binary) is keyed by its
// content, so two builds of different trees never share a build.
func TestKey_devel(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	key, err := Key(exe)
	sum, serr := SumFile(exe)
	if err != nil || serr != nil || key != "devel-"+sum || len(sum) != 16 {
		t.Errorf("Key = %q, %v; SumFile = %q, %v; want devel-<16 hex digits of the file's hash>", key, err, sum, serr)
	}
	if _, err := Key(exe + ".missing"); err == nil || !strings.Contains(err.Error(), "build info") {
		t.Errorf("Key of a missing file = %v; want an error about its build info", err)
	}
}

// TestBuild_refusals: "-" never builds, and a module this binary was not
// built from is not built from a guess.
func TestBuild_refusals(t *testing.T) {
	exe, _ := os.Executable()
	if _, err := Build(t.Context(), "-", exe, "cmd/loopd", t.TempDir()+"/x", nil, nil); err == nil || !strings.Contains(err.Error(), "off") {
		t.Errorf(`Build with gotool "-" = %v; want "on-demand builds are off"`, err)
	}
	if dir, tried := sourceDir("example.com/not/loop", "cmd/loopd"); dir != "" || tried == "" {
		t.Errorf("sourceDir of another module = %q (tried %q); want none, and where it looked", dir, tried)
	}
	if dir, _ := sourceDir("github.com/loopdev/loop", "cmd/loopd"); dir == "" {
		t.Error("sourceDir of this module: want this checkout")
	}
}

// TestBesideDirs: a binary's own directory, and through a symlink the
// directory of its target too.
func TestBesideDirs(t *testing.T) {
	real, link := t.TempDir(), t.TempDir()
	exe := filepath.Join(real, "loop")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := BesideDirs(exe); len(got) != 1 || got[0] != real {
		t.Errorf("BesideDirs(%s) = %q; want [%s]", exe, got, real)
	}
	l := filepath.Join(link, "loop")
	if err := os.Symlink(exe, l); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	want, _ := filepath.EvalSymlinks(real)
	if got := BesideDirs(l); len(got) != 2 || got[0] != link || got[1] != want {
		t.Errorf("BesideDirs(%s) = %q; want [%s %s]", l, got, link, want)
	}
}
